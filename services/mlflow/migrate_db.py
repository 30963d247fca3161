"""Brings MLflow's databases to the schema of this image's MLflow, before the new server serves.

Runs as a Kubernetes Job that completes before the MLflow Deployment rolls out (Pulumi waits for it):

- tracking store (MLFLOW_BACKEND_STORE_URI): on an empty database, MLflow's store creates the
  schema at the latest revision (what the first `mlflow server` would do, but once, not racing
  between replicas); on an existing one, `mlflow db upgrade` runs its migrations;
- auth store (MLFLOW_AUTH_DATABASE_URI, optional): the basic-auth app's own migrations, through the
  store the server uses at start-up, so that replicas starting together find it up to date.

Exit 0 when both are at head; 1 with one JSON line saying what failed. The URIs are never logged.
"""

import json
import os
import subprocess
import sys


class MigrationError(Exception):
    pass


def log(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def user_tables(uri: str) -> list:
    import sqlalchemy

    engine = sqlalchemy.create_engine(uri)
    try:
        # Alembic's bookkeeping alone (a failed first attempt) still counts as empty.
        return [t for t in sqlalchemy.inspect(engine).get_table_names() if not t.startswith("alembic_")]
    finally:
        engine.dispose()


def migrate_tracking(uri: str) -> str:
    if not user_tables(uri):
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        SqlAlchemyStore(uri, "mlflow-artifacts:/")
        return "initialised"
    done = subprocess.run(["mlflow", "db", "upgrade", uri], capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise MigrationError(f"mlflow db upgrade exited {done.returncode}: {tail[0].replace(uri, '<backend-store-uri>')}")
    return "upgraded"


def migrate_auth(uri: str) -> str:
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore().init_db(uri)
    return "upgraded"


def run(env: dict) -> int:
    uri = env.get("MLFLOW_BACKEND_STORE_URI")
    if not uri:
        raise MigrationError("the environment variable MLFLOW_BACKEND_STORE_URI is required")
    log("tracking", result=migrate_tracking(uri))
    auth_uri = env.get("MLFLOW_AUTH_DATABASE_URI")
    if auth_uri:
        log("auth", result=migrate_auth(auth_uri))
    log("done")
    return 0


def main() -> int:
    try:
        return run(dict(os.environ))
    except MigrationError as err:
        log("error", message=str(err))
        return 1
    except Exception as err:  # driver and alembic errors: one line, without the URIs
        message = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
        # Longest first: one URI may be a prefix of the other.
        for name in sorted(("MLFLOW_BACKEND_STORE_URI", "MLFLOW_AUTH_DATABASE_URI"), key=lambda n: -len(os.environ.get(n, ""))):
            if os.environ.get(name):
                message = message.replace(os.environ[name], f"<{name}>")
        log("error", message=message)
        return 1


if __name__ == "__main__":
    sys.exit(main())
