"""Creates the platform's MLflow users and their registered-model permissions. Idempotent.

Runs as a Kubernetes Job (once per deploy) and a CronJob (to grant on models registered later),
with the admin credentials in MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD and the spec in
MLOPS_MLFLOW_USERS, a JSON list:

    [{"username": "svc-serving", "passwordEnv": "USER_PASSWORD_0",
      "permissions": [{"model": "fraud-detector", "permission": "READ", "artifactsPermission": "READ"}]}]

Passwords come from the named environment variables (Kubernetes Secrets), never from the spec.
A user may also carry `"allModels": {"permission": "MANAGE", "artifactsPermission": "READ"}`: that
grant on every registered model of the registry, listed on each run (registered-models/search), so an
account that works on the whole registry (the platform API) reaches models people register directly
in MLflow within one CronJob period; `permissions` entries win for the models they name.
The server's default permission is NO_PERMISSIONS, so these grants are all a service account has.
`artifactsPermission` is for accounts that download a model's files: MLflow's artifact proxy
authorizes a download by the experiment holding the files, not by the registered model, so the
account also gets that permission on every experiment holding a version of the model (found from
each version's download URI, `mlflow-artifacts:/<experiment id>/...`); the CronJob follows new versions.
It uses MLflow's REST API only (users/create, users/update-password,
registered-models/permissions/create|update, registered-models/search, model-versions/search, model-versions/get-download-uri,
experiments/permissions/create|update), with the standard library, so it runs in the MLflow
image as is. A model that is not registered yet is reported and skipped: the CronJob grants it later.
Exit 0 when every user exists with its password and every permission of a registered model is set.
"""

import base64
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

PERMISSIONS = {"READ", "EDIT", "MANAGE", "NO_PERMISSIONS"}


class BootstrapError(Exception):
    pass


def log(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


class MlflowAuthApi:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 15.0):
        self.base = base_url.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict = None, query: dict = None) -> tuple:
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                return res.status, _json(res.read())
        except urllib.error.HTTPError as err:
            return err.code, _json(err.read())

    def wait_ready(self, deadline_s: float) -> None:
        end = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=5) as res:
                    if res.status == 200:
                        return
            except (urllib.error.URLError, OSError) as err:
                last = err
            time.sleep(2)
        raise BootstrapError(f"MLflow at {self.base} did not answer /health within {deadline_s:.0f}s ({last})")


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {"message": raw[:200].decode(errors="replace")}


def _exists(status: int, body: dict) -> bool:
    return status in (400, 409) and body.get("error_code") == "RESOURCE_ALREADY_EXISTS"


def _missing(status: int, body: dict) -> bool:
    return status == 404 or body.get("error_code") == "RESOURCE_DOES_NOT_EXIST"


def _fail(what: str, status: int, body: dict) -> BootstrapError:
    return BootstrapError(f"{what}: HTTP {status} {body.get('error_code', '')} {body.get('message', '')}".strip())


def parse_spec(raw: str, env: dict) -> list:
    try:
        spec = json.loads(raw)
    except ValueError as err:
        raise BootstrapError(f"MLOPS_MLFLOW_USERS is not JSON: {err}") from err
    if not isinstance(spec, list):
        raise BootstrapError("MLOPS_MLFLOW_USERS: expected a JSON list of users")
    users = []
    for i, user in enumerate(spec):
        where = f"MLOPS_MLFLOW_USERS[{i}]"
        if not isinstance(user, dict) or not isinstance(user.get("username"), str) or not user["username"]:
            raise BootstrapError(f"{where}: expected an object with a non-empty username")
        password_env = user.get("passwordEnv")
        if not isinstance(password_env, str) or not env.get(password_env):
            raise BootstrapError(f"{where} ({user['username']}): passwordEnv must name a set environment variable, got {password_env!r}")
        perms = user.get("permissions", [])
        for j, p in enumerate(perms):
            if not isinstance(p, dict) or not isinstance(p.get("model"), str) or p.get("permission") not in PERMISSIONS:
                raise BootstrapError(f"{where}.permissions[{j}]: expected {{model, permission}} with permission one of {sorted(PERMISSIONS)}")
            if "artifactsPermission" in p and p["artifactsPermission"] not in PERMISSIONS:
                raise BootstrapError(f"{where}.permissions[{j}].artifactsPermission: expected one of {sorted(PERMISSIONS)}")
        all_models = user.get("allModels")
        if all_models is not None:
            if not isinstance(all_models, dict) or all_models.get("permission") not in PERMISSIONS or all_models.get("artifactsPermission", "READ") not in PERMISSIONS:
                raise BootstrapError(f"{where}.allModels: expected {{permission, artifactsPermission?}} with permissions one of {sorted(PERMISSIONS)}")
        users.append({"username": user["username"], "password": env[password_env], "permissions": perms, "allModels": all_models})
    return users


def ensure_user(api: MlflowAuthApi, username: str, password: str) -> str:
    status, body = api.call("POST", "/api/2.0/mlflow/users/create", {"username": username, "password": password})
    if status == 200:
        return "created"
    if not _exists(status, body):
        raise _fail(f"creating user {username}", status, body)
    # The Secret is the source of truth: a rotated password reaches MLflow on the next run.
    status, body = api.call("PATCH", "/api/2.0/mlflow/users/update-password", {"username": username, "password": password})
    if status != 200:
        raise _fail(f"updating the password of {username}", status, body)
    return "updated"


def ensure_permission(api: MlflowAuthApi, username: str, model: str, permission: str) -> str:
    body_in = {"name": model, "username": username, "permission": permission}
    status, body = api.call("POST", "/api/2.0/mlflow/registered-models/permissions/create", body_in)
    if status == 200:
        return "granted"
    if _exists(status, body):
        status, body = api.call("PATCH", "/api/2.0/mlflow/registered-models/permissions/update", body_in)
        if status == 200:
            return "updated"
    if _missing(status, body):
        return "pending"
    raise _fail(f"granting {permission} on {model} to {username}", status, body)


# `mlflow-artifacts:/12/...` or `mlflow-artifacts://host:5000/12/...`: the experiment the proxy authorizes by.
_PROXIED_EXPERIMENT = re.compile(r"^mlflow-artifacts:(?://[^/]*)?/+(\d+)(?:/|$)")


def experiment_of(artifact_uri: str):
    m = _PROXIED_EXPERIMENT.match(artifact_uri or "")
    return m.group(1) if m else None


def model_experiments(api: MlflowAuthApi, model: str) -> list:
    """The experiments holding the files of the model's versions (none when it has no version yet)."""
    found = set()
    page_token = None
    while True:
        query = {"filter": f"name='{model}'", "max_results": "200", **({"page_token": page_token} if page_token else {})}
        status, body = api.call("GET", "/api/2.0/mlflow/model-versions/search", query=query)
        if status != 200:
            raise _fail(f"listing the versions of {model}", status, body)
        for version in body.get("model_versions", []):
            # A version's source is often already the proxied location; otherwise ask where its files are.
            experiment = experiment_of(version.get("source", ""))
            if experiment is None:
                status, uri = api.call("GET", "/api/2.0/mlflow/model-versions/get-download-uri", query={"name": model, "version": str(version.get("version"))})
                if status != 200:
                    raise _fail(f"finding the files of {model} version {version.get('version')}", status, uri)
                experiment = experiment_of(uri.get("artifact_uri", ""))
            if experiment is not None:
                found.add(experiment)
        page_token = body.get("next_page_token")
        if not page_token:
            return sorted(found, key=int)


def registered_models(api: MlflowAuthApi) -> list:
    """Every registered model's name, every page of them."""
    names = []
    page_token = None
    while True:
        query = {"max_results": "1000", **({"page_token": page_token} if page_token else {})}
        status, body = api.call("GET", "/api/2.0/mlflow/registered-models/search", query=query)
        if status != 200:
            raise _fail("listing the registered models", status, body)
        names.extend(m["name"] for m in body.get("registered_models", []) if isinstance(m, dict) and m.get("name"))
        page_token = body.get("next_page_token")
        if not page_token:
            return names


def with_all_models(user: dict, all_names: list) -> list:
    """The user's permissions, plus its allModels grant on each registered model they do not name."""
    grant = user.get("allModels")
    if not grant:
        return user["permissions"]
    named = {p["model"] for p in user["permissions"]}
    extra = [{"model": name, "permission": grant["permission"], **({"artifactsPermission": grant["artifactsPermission"]} if grant.get("artifactsPermission") else {})} for name in all_names if name not in named]
    return user["permissions"] + extra


def ensure_experiment_permission(api: MlflowAuthApi, username: str, experiment_id: str, permission: str) -> str:
    body_in = {"experiment_id": experiment_id, "username": username, "permission": permission}
    status, body = api.call("POST", "/api/2.0/mlflow/experiments/permissions/create", body_in)
    if status == 200:
        return "granted"
    if _exists(status, body):
        status, body = api.call("PATCH", "/api/2.0/mlflow/experiments/permissions/update", body_in)
        if status == 200:
            return "updated"
    raise _fail(f"granting {permission} on experiment {experiment_id} to {username}", status, body)


def run(env: dict) -> int:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLOPS_MLFLOW_USERS"):
        if not env.get(name):
            raise BootstrapError(f"the environment variable {name} is required")
    users = parse_spec(env["MLOPS_MLFLOW_USERS"], env)
    api = MlflowAuthApi(env["MLFLOW_TRACKING_URI"], env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"])
    api.wait_ready(float(env.get("MLOPS_WAIT_SECONDS", "300")))
    pending = 0
    experiments = {}  # model -> its experiments, looked up once per run
    all_names = registered_models(api) if any(u.get("allModels") for u in users) else []
    for user in users:
        log("user", username=user["username"], result=ensure_user(api, user["username"], user["password"]))
        for p in with_all_models(user, all_names):
            result = ensure_permission(api, user["username"], p["model"], p["permission"])
            pending += result == "pending"
            log("permission", username=user["username"], model=p["model"], permission=p["permission"], result=result)
            if result == "pending" or not p.get("artifactsPermission"):
                continue
            if p["model"] not in experiments:
                experiments[p["model"]] = model_experiments(api, p["model"])
            for experiment_id in experiments[p["model"]]:
                granted = ensure_experiment_permission(api, user["username"], experiment_id, p["artifactsPermission"])
                log("experiment-permission", username=user["username"], model=p["model"], experiment=experiment_id, permission=p["artifactsPermission"], result=granted)
    log("done", users=len(users), pendingPermissions=pending)
    return 0


def main() -> int:
    try:
        return run(dict(os.environ))
    except BootstrapError as err:
        log("error", message=str(err))
        return 1


if __name__ == "__main__":
    sys.exit(main())
