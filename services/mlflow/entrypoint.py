"""Renders MLflow's basic-auth config from the environment, then replaces itself with the given command.

    python entrypoint.py mlflow server --app-name basic-auth ...

When MLFLOW_AUTH_CONFIG_PATH is set, the template (MLFLOW_AUTH_CONFIG_TEMPLATE, default the
basic_auth.ini next to this file) is rendered there with every ${NAME} taken from the environment.
A missing variable, or a value with a line break, stops the container with one clear message.
"""

import os
import stat
import string
import sys
from pathlib import Path

DEFAULT_TEMPLATE = Path(__file__).with_name("basic_auth.ini")


class ConfigError(Exception):
    pass


def render(template: str, env: dict) -> str:
    names = {m.group("braced") or m.group("named") for m in string.Template.pattern.finditer(template) if m.group("braced") or m.group("named")}
    missing = sorted(n for n in names if not env.get(n))
    if missing:
        raise ConfigError(f"the auth config needs the environment variable(s) {', '.join(missing)}")
    values = {}
    for name in names:
        value = env[name]
        if "\n" in value or "\r" in value:
            raise ConfigError(f"{name} contains a line break, which would inject lines into the auth config")
        # configparser interpolates '%': a literal percent sign (URL-encoded credentials) must be doubled.
        values[name] = value.replace("%", "%%")
    return string.Template(template).substitute(values)


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv: list) -> int:
    if len(argv) < 2:
        print("usage: entrypoint.py <command> [args...]", file=sys.stderr)
        return 2
    target = os.environ.get("MLFLOW_AUTH_CONFIG_PATH")
    if target:
        template_path = Path(os.environ.get("MLFLOW_AUTH_CONFIG_TEMPLATE", str(DEFAULT_TEMPLATE)))
        try:
            write_private(Path(target), render(template_path.read_text(encoding="utf-8"), dict(os.environ)))
        except (ConfigError, OSError) as err:
            print(f"entrypoint: cannot write the MLflow auth config {target}: {err}", file=sys.stderr)
            return 2
    os.execvp(argv[1], argv[1:])
    return 0  # not reached: execvp replaces the process


if __name__ == "__main__":
    sys.exit(main(sys.argv))
