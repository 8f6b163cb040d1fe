"""The administrators' `flask` command line on a server's store, as an operator types it next to the
running server (`FLASK_APP=server`, `DATABASE_URL` of that store).

    flask_cli(database_url, "quarantine", "list")           -> Done(returncode, stdout, stderr)
    flask_cli(database_url, ..., in_process=False)          the `flask` script as a process of its own

By default the command runs in this process through click's test runner: the `flask` script's own
group (flask.cli.cli, a FlaskGroup) loads the app from `--app server` with the environment given, so
`create_app` reads that environment and runs the start-up steps a `flask` command runs; the command
is the real one, on the real store. What it saves is a Python process per command (about 1.5 s of
CPU, nearly all of it imports); a few tests keep running the script itself (`in_process=False`).
"""
from __future__ import annotations

import os
import subprocess
import sys
import traceback
from dataclasses import dataclass

from . import REPO_ROOT

BASE_ENV = {"PAICHA_DEMO": "0", "FLASK_APP": "server"}


@dataclass
class Done:
    """What a finished command left: as subprocess.CompletedProcess has it."""
    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def flask_cli(database_url: str, *args: str, env: dict | None = None, in_process: bool = True,
              timeout: float = 120) -> Done:
    """Run `flask ARGS` on the store at `database_url`; `env` adds to (or, a None value, removes
    from) the environment it runs in, which is this process's."""
    changes = {"DATABASE_URL": database_url, **BASE_ENV, **(env or {})}
    if not in_process:
        full = {k: v for k, v in {**os.environ, **changes}.items() if v is not None}
        done = subprocess.run([str(_script()), *args], cwd=REPO_ROOT, env=full, capture_output=True,
                              text=True, timeout=timeout)
        return Done(list(args), done.returncode, done.stdout, done.stderr)
    return _in_process(list(args), changes)


def _script():
    script = REPO_ROOT / ".venv" / "bin" / "flask"
    return script if script.exists() else os.path.join(os.path.dirname(sys.executable), "flask")


def _in_process(args: list[str], changes: dict) -> Done:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo, cli

    # The group sets FLASK_RUN_FROM_CLI for the rest of the process; the runner puts every variable
    # it was given back as it was.
    changes.setdefault("FLASK_RUN_FROM_CLI", None)
    info = ScriptInfo(app_import_path=changes.get("FLASK_APP") or "server")
    cwd = os.getcwd()
    os.chdir(REPO_ROOT)
    try:
        result = CliRunner().invoke(cli, args, env=changes, obj=info, prog_name="flask")
    finally:
        os.chdir(cwd)
        _dispose(info)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # As the script would: the traceback on stderr, exit status 1.
        stderr += "".join(traceback.format_exception(result.exception))
    return Done(args, result.exit_code, result.stdout, stderr)


def _dispose(info) -> None:
    """The app the command loaded leaves no connection open (PostgreSQL drops a test's database only
    when nobody is connected; many apps' pools would add up)."""
    app = info._loaded_app
    if app is None:
        return
    from server.core.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
