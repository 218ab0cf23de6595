"""Room for rotated tokens, checked with other processes (moved from tests/unit: these start processes, e.g. under a file-size limit)."""

from __future__ import annotations

import fcntl
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.live import atomic, locks
from pipeline.live.journal import (
    RESERVE_BYTES,
)


def _under_limit(code: str, limit: int, folder: Path) -> subprocess.CompletedProcess[str]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-c", code, str(folder)], preexec_fn=apply, capture_output=True, text=True, timeout=60
    )


def test_no_room_is_an_error_before_anything_is_spent(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from pipeline.live.journal import Journal, JournalError\n"
        "try:\n    Journal(Path(sys.argv[1])).reserve()\nexcept JournalError as exc:\n    print(exc)\n"
    )
    done = _under_limit(code, 4096, tmp_path)
    assert done.stdout.strip() == (
        f"no room for rotated tokens in the token journal {tmp_path / 'codex-auth-report-token-journal.ndjson'}: "
        "File too large"
    ), done.stderr


def test_room_for_a_new_copy_of_the_storage_file(tmp_path: Path) -> None:
    target = tmp_path / "accounts.json"
    target.write_bytes(b"x" * 10_000)
    assert atomic.prove_room(target, RESERVE_BYTES) is None
    assert [p.name for p in tmp_path.iterdir()] == ["accounts.json"], "the proof leaves nothing behind"
    code = (
        "import sys; from pathlib import Path; from pipeline.live.atomic import prove_room\n"
        "print(prove_room(Path(sys.argv[1]) / 'accounts.json', 16384))\n"
    )
    done = _under_limit(code, 20_000, tmp_path)
    assert done.stdout.strip() == f"no room to write {target}: File too large", done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["accounts.json"]


def test_a_taker_whose_file_was_removed_while_it_waited_locks_the_new_one(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    first = locks.acquire(path)
    waiter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, os; from pathlib import Path; from pipeline.live import locks\n"
            "fd = locks.acquire(Path(sys.argv[1])); print(os.fstat(fd).st_ino, flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        import time

        time.sleep(0.3)  # the waiter has opened the old file and waits on it (no timing asserted)
        locks.release(first, path)  # held, so removed safely
        assert waiter.stdout is not None
        got = int(waiter.stdout.readline())
        assert path.exists() and os.stat(path).st_ino == got, "it holds the file the name leads to"
        # and so it excludes a third taker, which would have locked the new file
        third = os.open(path, os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(third, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(third)
    finally:
        waiter.communicate("", timeout=30)
