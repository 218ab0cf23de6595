"""`scripts/demo`: the report on the bundled sample pool, sealed in a temporary folder.

Every mode (the stored-data report, ``--json``, ``--explain``, any report option, ``--live``
anywhere among the arguments) runs the same way:

* the pool is a copy, in a new temporary folder: of ``examples/sample-pool`` (the report is
  dated 2026-03-03 14:30 UTC, the sample's moment), or with ``--live`` the same accounts
  dated now (so that their tokens are current for the fake backend);
* the environment is built from nothing: only the terminal's settings (PATH, locale, TERM,
  colour switches, TZ) are kept from the caller's; HOME, the XDG folders, TMPDIR,
  CODEX_HOME, CODEX_MULTI_AUTH_DIR and CODEX_AUTH_HISTORY all point into the temporary
  folder, so no variable of the user's (a real home, a history, a proxy, a pool) reaches the run;
* the service URLs are the fake backend's (``testkit/fake_backend.py``, started on 127.0.0.1
  for ``--live``) or, for a stored-data report, a closed port on 127.0.0.1: the real service
  is never named, so it cannot be reached.

Relative paths the user gives (``--out report.html``) are taken from the folder the demo was
started in. Options that would point the report at real data (``--dir``, ``--project``,
``--history``) are refused in one line, exit 2. The temporary folder is removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from testkit import poolkit

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_POOL = ROOT / "examples" / "sample-pool"
SAMPLE_NOW = "2026-03-03T14:30:00Z"
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, nothing leaves the machine
KEPT = ("PATH", "LANG", "TERM", "COLUMNS", "LINES", "TZ", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE")


def sealed_env(tmp: Path, caller: Mapping[str, str], base_url: str, token_url: str) -> dict[str, str]:
    """The demo's whole environment: the caller's terminal settings, everything else inside ``tmp``."""
    env = {name: value for name, value in caller.items() if name in KEPT or name.startswith("LC_")}
    home = tmp / "home"
    env.update(
        HOME=str(home),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_RUNTIME_DIR=str(tmp / "run"),
        TMPDIR=str(tmp / "tmp"),
        CODEX_HOME=str(home / ".codex"),
        CODEX_MULTI_AUTH_DIR=str(tmp / "multi-auth"),
        CODEX_AUTH_HISTORY=str(tmp / "history.sqlite3"),
        CODEX_AUTH_BASE_URL=base_url,
        CODEX_AUTH_TOKEN_URL=token_url,
        NO_PROXY="*",
    )
    for folder in (home, tmp / "run", tmp / "tmp"):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return env


def report_command(live: bool, args: Sequence[str]) -> list[str]:
    exe = Path(sys.executable).parent / "codex-auth"
    if live:
        return [str(exe), "report", "--live", *args]
    return [str(exe), "report", "--now", SAMPLE_NOW, *args]


#: Report options that would point the demo at real data (a pool, a project's pool, a
#: history): refused, since the demo runs only on its copy of the sample pool.
REAL_DATA = ("--dir", "--project", "--history")
USAGE = 2


def refused(argv: Sequence[str]) -> str | None:
    """The one line that refuses an option pointing at real data (``--dir PATH`` or
    ``--dir=PATH``), or None."""
    for arg in argv:
        name = arg.split("=", 1)[0]
        if name in REAL_DATA:
            return (
                f"demo: {name} would point the demo at real data; the demo runs only on a copy of the "
                f"sample pool: run `codex auth report {name} ...` for yours"
            )
    return None


def main(argv: Sequence[str], cwd: str | None = None) -> int:
    why = refused(argv)
    if why:
        print(why, file=sys.stderr)
        return USAGE
    live = "--live" in argv
    args = [arg for arg in argv if arg != "--live"]
    with tempfile.TemporaryDirectory(prefix="codex-auth-demo-") as name:
        tmp = Path(name)
        folder = tmp / "multi-auth"
        if not live:
            shutil.copytree(SAMPLE_POOL, folder)
            folder.chmod(0o700)
            env = sealed_env(tmp, os.environ, f"{CLOSED}/backend-api", f"{CLOSED}/oauth/token")
            return subprocess.run(report_command(False, args), env=env, cwd=cwd).returncode
        poolkit.seed_example_pool(folder, now=poolkit.now_ms())
        scenario = tmp / "scenario.json"
        scenario.write_text(json.dumps(poolkit.seed_example_scenario(folder)))
        server = subprocess.Popen(
            [sys.executable, "-m", "testkit.fake_backend", "--scenario", str(scenario), "--max-seconds", "300"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=sealed_env(tmp, os.environ, CLOSED, CLOSED) | {"PYTHONPATH": str(ROOT)},
        )
        try:
            assert server.stdout is not None
            urls = json.loads(server.stdout.readline())
            env = sealed_env(tmp, os.environ, urls["base_url"], urls["token_url"])
            print(f"(demo: fake backend at {urls['url']}, pool in {folder})", file=sys.stderr)
            return subprocess.run(report_command(True, args), env=env, cwd=cwd).returncode
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], cwd=os.environ.get("CODEX_AUTH_DEMO_CWD") or None))
