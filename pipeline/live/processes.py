"""Which processes still run: this boot of the machine, a process's start time (to tell a
reused pid apart) and :func:`alive`, for the files that name their writer (our temporary
files, the lease's marks). Linux facts from ``/proc``; where they cannot be read, a process
counts as alive, since only a sure death frees what it holds."""

from __future__ import annotations

import os
from pathlib import Path


def boot_id() -> str | None:
    """This boot of the machine (Linux), so a pid from before a reboot is known dead."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def start_time(pid: int) -> str | None:
    """When the process started (clock ticks since boot, Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :][:1] in ("Z", "X")


def alive(pid: object, started: object = None, boot: object = None) -> bool:
    """Whether the process ``pid`` (started at ``started``, in boot ``boot``, when known)
    still runs. Unknown or unreadable facts count as alive: only a sure death frees a lock."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return True
    if isinstance(boot, str) and boot and (current := boot_id()) is not None and boot != current:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # it exists, but belongs to someone else
    if _zombie(pid):
        return False
    if isinstance(started, str) and started and started != "x":
        now = start_time(pid)
        if now is not None and now != started:
            return False
    return True


_ME: tuple[int, str] | None = None


def me() -> tuple[int, str]:
    """(pid, start time) of this process; recomputed after a fork."""
    global _ME
    if _ME is None or _ME[0] != os.getpid():
        _ME = (os.getpid(), start_time(os.getpid()) or "x")
    return _ME
