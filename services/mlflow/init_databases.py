"""Creates the platform's PostgreSQL databases and their owner roles. Idempotent.

Runs as a Kubernetes Job with the foundation's admin credentials in the libpq variables (PGHOST,
PGPORT, PGUSER, PGPASSWORD, PGSSLMODE; PGDATABASE defaults to `postgres`) and the spec in
MLOPS_DATABASES, a JSON list:

    [{"database": "mlflow", "owner": "mlops_mlflow", "passwordEnv": "MLFLOW_DB_PASSWORD"},
     {"database": "monitor", "owner": "mlops_monitor", "passwordEnv": "MONITOR_DB_PASSWORD"}]

Each owner role gets LOGIN and the password from its variable (set again on every run, so a
rotated Secret takes effect); each database is created owned by it, or handed over to it, and
closed to PUBLIC. Works with a non-superuser admin that has CREATEDB and CREATEROLE, as on RDS,
Cloud SQL and Azure Database: the admin makes itself a member of each owner role first.
"""

import json
import os
import re
import sys

IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class InitError(Exception):
    pass


def log(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def parse_spec(raw: str, env: dict) -> tuple:
    """(databases, {owner role: password})."""
    try:
        spec = json.loads(raw)
    except ValueError as err:
        raise InitError(f"MLOPS_DATABASES is not JSON: {err}") from err
    if not isinstance(spec, list) or not spec:
        raise InitError("MLOPS_DATABASES: expected a non-empty JSON list")
    passwords = {}
    for i, item in enumerate(spec):
        where = f"MLOPS_DATABASES[{i}]"
        if not isinstance(item, dict):
            raise InitError(f"{where}: expected an object")
        for key in ("database", "owner"):
            if not isinstance(item.get(key), str) or not IDENT.match(item[key]):
                raise InitError(f"{where}.{key}: expected a lower-case SQL identifier, got {item.get(key)!r}")
        password_env = item.get("passwordEnv")
        if password_env is not None:
            if not env.get(password_env):
                raise InitError(f"{where}: passwordEnv {password_env!r} is not set")
            passwords[item["owner"]] = env[password_env]
    owners = {item["owner"] for item in spec}
    without = sorted(owners - passwords.keys())
    if without:
        raise InitError(f"MLOPS_DATABASES: no passwordEnv for the owner role(s) {', '.join(without)}")
    return [{"database": s["database"], "owner": s["owner"]} for s in spec], passwords


def ensure_role(cur, sql, role: str, password: str) -> str:
    cur.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (role,))
    exists = cur.fetchone() is not None
    verb = "ALTER ROLE {} WITH LOGIN PASSWORD %s" if exists else "CREATE ROLE {} WITH LOGIN PASSWORD %s"
    cur.execute(sql.SQL(verb).format(sql.Identifier(role)), (password,))
    cur.execute("SELECT pg_catalog.pg_has_role(current_user, %s, 'MEMBER')", (role,))
    if not cur.fetchone()[0]:
        # A non-superuser admin may only create (or hand over) a database owned by a role it belongs to.
        cur.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(role)))
    return "updated" if exists else "created"


def ensure_database(cur, sql, database: str, owner: str) -> str:
    cur.execute("SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = %s", (database,))
    row = cur.fetchone()
    if row is None:
        cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner)))
        result = "created"
    elif row[0] != owner:
        cur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), sql.Identifier(owner)))
        result = f"owner changed from {row[0]}"
    else:
        result = "unchanged"
    cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
    return result


def run(env: dict) -> int:
    if not env.get("MLOPS_DATABASES"):
        raise InitError("the environment variable MLOPS_DATABASES is required")
    missing = [n for n in ("PGHOST", "PGUSER", "PGPASSWORD") if not env.get(n)]
    if missing:
        raise InitError(f"the admin connection needs {', '.join(missing)}")
    databases, passwords = parse_spec(env["MLOPS_DATABASES"], env)
    import psycopg2  # imported late: the spec is checked (and its errors reported) without the driver
    from psycopg2 import sql

    conn = psycopg2.connect(dbname=env.get("PGDATABASE") or "postgres", connect_timeout=15)
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            for role, password in sorted(passwords.items()):
                log("role", role=role, result=ensure_role(cur, sql, role, password))
            for db in databases:
                log("database", database=db["database"], owner=db["owner"], result=ensure_database(cur, sql, db["database"], db["owner"]))
    finally:
        conn.close()
    log("done", databases=len(databases))
    return 0


def main() -> int:
    try:
        return run(dict(os.environ))
    except InitError as err:
        log("error", message=str(err))
        return 1
    except Exception as err:  # psycopg2 errors: report them as one line, without the connection secrets
        log("error", message=f"{type(err).__name__}: {str(err).strip()}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
