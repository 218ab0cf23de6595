"""`scripts/demo --live`: the live report against the fake ChatGPT backend.

Writes the seed example pool into a temporary folder (dated now, so its tokens are valid),
starts testkit/fake_backend.py on 127.0.0.1 with the seed's live figures, and runs
`codex-auth report --live` against both. Extra arguments go to the report
(`scripts/demo --live --json`, `--explain`, ...). Nothing outside the temporary folder is
touched, and nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from testkit import poolkit


def main(args: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="codex-auth-demo-") as tmp:
        folder = poolkit.seed_example_pool(Path(tmp) / "multi-auth", now=poolkit.now_ms())
        scenario = Path(tmp) / "scenario.json"
        scenario.write_text(json.dumps(poolkit.seed_example_scenario(folder)))
        server = subprocess.Popen(
            [sys.executable, "-m", "testkit.fake_backend", "--scenario", str(scenario), "--max-seconds", "300"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            urls = json.loads(server.stdout.readline())
            env = dict(
                os.environ,
                HOME=tmp,
                CODEX_HOME=f"{tmp}/codex-home",
                CODEX_MULTI_AUTH_DIR=str(folder),
                CODEX_AUTH_BASE_URL=urls["base_url"],
                CODEX_AUTH_TOKEN_URL=urls["token_url"],
            )
            print(f"(demo: fake backend at {urls['url']}, pool in {folder})", file=sys.stderr)
            exe = Path(sys.executable).parent / "codex-auth"
            return subprocess.run([str(exe), "report", "--live", *args], env=env).returncode
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
