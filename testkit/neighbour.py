"""codex-multi-auth itself, beside this tool: its own storage code writes the pool we read, and
reads the pool our live runs write back.

    python -m testkit.neighbour fixtures CHECKOUT   # rewrite tests/fixtures/neighbour/ with its save code
    python -m testkit.neighbour roundtrip CHECKOUT  # its pool -> our report --live (tokens rotate) -> its loaders

CHECKOUT is a built checkout of codex-multi-auth's repository (it is not published on npm):
``npm install --ignore-scripts && npx tsc`` in it writes ``dist/``. Node drives its storage
functions through :file:`testkit/neighbour.mjs` (ours); every folder is a temporary one, the
backend is the fake one on 127.0.0.1, and what the loaders print carries no token (SHA-256 of
each refresh token).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testkit import poolkit

ROOT = Path(__file__).resolve().parent.parent
BRIDGE = ROOT / "testkit" / "neighbour.mjs"
FIXTURES = ROOT / "tests" / "fixtures" / "neighbour"
FILES = (poolkit.ACCOUNTS_FILE, "openai-codex-flagged-accounts.json", "quota-cache.json")


ENTRY = Path("scripts") / "codex-multi-auth.js"  # its command, inside a checkout


def built(checkout: Path) -> Path:
    """The checkout, resolved, once it is known to be built (else one line and exit)."""
    checkout = checkout.expanduser().resolve()
    if not (checkout / "dist" / "lib" / "storage.js").is_file() or not (checkout / ENTRY).is_file():
        sys.exit(
            f"{checkout} is not a built codex-multi-auth checkout: run npm install --ignore-scripts && npx tsc in it"
        )
    return checkout


def version(checkout: Path) -> str:
    return str(json.loads((checkout / "package.json").read_text())["version"])


def environment(folder: Path, home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CODEX_MULTI_AUTH_DIR": str(folder),
        "CI": "1",  # codex-multi-auth's first-run setup stays off
    }


def save(checkout: Path, folder: Path, spec: dict[str, Any]) -> None:
    """Save ``spec`` ({accounts, flagged, quota}) into ``folder`` with codex-multi-auth's own code."""
    home = folder.parent / "neighbour-home"
    home.mkdir(exist_ok=True, mode=0o700)
    subprocess.run(
        ["node", str(BRIDGE), str(checkout), "save"],
        input=json.dumps(spec).encode(),
        env=environment(folder, home),
        check=True,
        capture_output=True,
    )


def load(checkout: Path, folder: Path) -> dict[str, Any]:
    """What codex-multi-auth's loaders read from ``folder`` (refresh tokens as SHA-256)."""
    home = folder.parent / "neighbour-home"
    home.mkdir(exist_ok=True, mode=0o700)
    done = subprocess.run(
        ["node", str(BRIDGE), str(checkout), "load"], env=environment(folder, home), check=True, capture_output=True
    )
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


def digest(token: str | None) -> str | None:
    return hashlib.sha256(token.encode()).hexdigest() if token else None


def _spec_of(folder: Path) -> dict[str, Any]:
    """The files poolkit wrote in ``folder``, as the input of codex-multi-auth's save functions."""
    spec: dict[str, Any] = {"accounts": json.loads((folder / poolkit.ACCOUNTS_FILE).read_text())}
    flagged, cache = folder / FILES[1], folder / FILES[2]
    if flagged.exists():
        spec["flagged"] = json.loads(flagged.read_text())
    if cache.exists():
        spec["quota"] = json.loads(cache.read_text())
    return spec


def fixtures(checkout: Path, out: Path = FIXTURES, count: int = 12) -> None:
    """A real-shaped pool of ``count`` accounts (fake tokens) saved by codex-multi-auth's own code
    into ``out``, with ``seen.json``: what its loaders read back from those files."""
    now = poolkit.SEED_NOW
    with tempfile.TemporaryDirectory(prefix="codex-auth-neighbour-") as tmp:
        source, folder = Path(tmp) / "source", Path(tmp) / "multi-auth"
        poolkit.real_pool(source, count, now, flagged_every=5)
        folder.mkdir(mode=0o700)
        save(checkout, folder, _spec_of(source))
        seen = load(checkout, folder)
        out.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copyfile(folder / name, out / name)
    seen = {"codexMultiAuth": version(checkout), "now": now, **seen}
    (out / "seen.json").write_text(json.dumps(seen, indent=2) + "\n")


@dataclass
class RoundTrip:
    accounts: int = 0
    rotated: int = 0  # refresh tokens our live run rotated and wrote back
    seen_by_neighbour: int = 0  # of those, read back by codex-multi-auth's loader as ours wrote them
    health: str = ""
    problems: list[str] = field(default_factory=list)


def roundtrip(checkout: Path, accounts: int = 20) -> RoundTrip:
    """codex-multi-auth saves a pool whose access tokens have expired; ``report --live`` refreshes
    every account (the fake backend rotates each refresh token) and writes the pool back; then
    codex-multi-auth's loaders must read every account, with the new refresh tokens."""
    from testkit.crash import make_drill

    figures = RoundTrip()
    with tempfile.TemporaryDirectory(prefix="codex-auth-neighbour-") as tmp:
        drill = make_drill(Path(tmp), accounts, spread_ms=200)
        try:
            spec = _spec_of(drill.pool)
            drill.accounts_file.unlink()
            save(checkout, drill.pool, spec)
            before = drill.stored()
            done = drill.run("report", "--live", "--json")
            if done.returncode not in (0, 3):
                figures.problems.append(f"report --live exited {done.returncode}: {done.stderr.strip()[-300:]}")
            after = drill.stored()
            seen = load(checkout, drill.pool)
        finally:
            drill.backend.stop()
    figures.accounts = len(seen["accounts"])
    figures.health = str(seen["health"])
    theirs = {a["accountId"]: a["refreshToken"] for a in seen["accounts"]}
    for account_id, token in after.items():
        if token != before.get(account_id):
            figures.rotated += 1
            if theirs.get(account_id) == digest(token):
                figures.seen_by_neighbour += 1
            else:
                figures.problems.append(f"{account_id}: codex-multi-auth reads another refresh token than ours")
    if set(theirs) != set(before):
        figures.problems.append(f"accounts differ: {sorted(set(before) ^ set(theirs))}")
    return figures


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] not in ("fixtures", "roundtrip"):
        sys.exit("usage: python -m testkit.neighbour fixtures|roundtrip CHECKOUT")
    checkout = built(Path(argv[1]))
    if argv[0] == "fixtures":
        fixtures(checkout)
        print(f"wrote {FIXTURES.relative_to(ROOT)} with codex-multi-auth {version(checkout)}")
        return
    got = roundtrip(checkout)
    print(
        f"round trip with codex-multi-auth {version(checkout)}: {got.accounts} accounts read back"
        f" (storage health {got.health}), {got.rotated} refresh tokens rotated by report --live,"
        f" {got.seen_by_neighbour} read back by codex-multi-auth as written; problems: {len(got.problems)}"
    )
    for line in got.problems[:10]:
        print(f"  {line}")
    if got.problems or got.rotated == 0:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
