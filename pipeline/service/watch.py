"""``codex auth watch``: the report kept up to date, for a person or for a script.

On a terminal the text report is redrawn in place every interval, in the alternate screen
(the cursor goes home and every line is rewritten and cleared to its end, so nothing
flickers; the report is cut to the window's height); Ctrl-C gives the screen back as it was.
Anywhere else, one JSON event per line (:mod:`pipeline.service.events`) whenever something changes.
``--on-event CMD`` runs CMD for each event with the event on its standard input: CMD is
split like a shell would split it (``shlex``), but no shell ever runs and the event's text
never becomes part of a command line; each run has a time limit and is killed (with its
process group) past it; a failure is said on stderr and the watch goes on.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO

import orjson

from pipeline.report.view import View
from pipeline.scrubbing import scrub
from pipeline.service.events import Event, PoolState, detect_events, pool_state
from pipeline.service.snapshots import Assessment, LoopState, Refresher, RefreshLoop, Snapshot, SnapshotHook

ENTER = "\x1b[?1049h\x1b[?25l"  # alternate screen, cursor hidden
LEAVE = "\x1b[?25h\x1b[?1049l"  # cursor shown, main screen back
HOME = "\x1b[H"
CLEAR_LINE = "\x1b[K"
CLEAR_BELOW = "\x1b[J"
DEFAULT_EVENT_TIMEOUT = 10.0


class EventRunner:
    """Runs the --on-event command once per event, in order, one at a time, in a worker
    thread (a slow command never delays the watch)."""

    def __init__(self, argv: Sequence[str], timeout: float, say: Callable[[str], None]) -> None:
        self.argv, self.timeout, self.say = list(argv), timeout, say
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="on-event", daemon=True)
        self._thread.start()

    def submit(self, event: Event) -> None:
        self._queue.put(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE))

    def close(self, wait: float) -> None:
        self._queue.put(None)
        self._thread.join(wait)

    def _work(self) -> None:
        while (data := self._queue.get()) is not None:
            self.run(data)

    def run(self, data: bytes) -> None:
        name = self.argv[0]
        try:
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=sys.stderr.fileno(),  # stdout is the event stream: keep it ours
                start_new_session=True,  # its own process group, so a time-out kills its children too
            )
        except OSError as error:
            self.say(f"--on-event: cannot run {name}: {error.strerror or error}")
            return
        try:
            process.communicate(data, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                pass
            process.wait()
            self.say(f"--on-event: {name} took longer than {self.timeout:g}s and was stopped")
            return
        if process.returncode:
            self.say(f"--on-event: {name} exited with {process.returncode}")


class Watch:
    """Turns each run of the loop into a redraw (terminal) or events (anything else)."""

    def __init__(
        self,
        *,
        terminal: bool,
        out: IO[str],
        thresholds: Sequence[int],
        min_healthy: int | None,
        runner: EventRunner | None,
        render: Callable[[View], str],
        interval: float,
        title: str,
        redact: bool = False,
    ) -> None:
        self.redact = redact  # --redact: e-mails and account ids masked on the screen and in events
        self.terminal, self.out, self.thresholds, self.min_healthy = terminal, out, thresholds, min_healthy
        self.runner, self.render, self.interval, self.title = runner, render, interval, title
        self.previous: PoolState | None = None
        self.seen: Snapshot | None = None
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.reader_gone = False

    def after_run(self, state: LoopState, snapshot: Snapshot | None, assessment: Assessment | None) -> None:
        try:
            self._after_run(state, snapshot)
        except BrokenPipeError:  # the reader of the events went away (`| head -3`): stop
            self.reader_gone = True
            self.stop.set()

    def _after_run(self, state: LoopState, snapshot: Snapshot | None) -> None:
        with self.lock:
            events: list[Event] = []
            if snapshot is not None and snapshot is not self.seen:
                self.seen = snapshot
                current = pool_state(self.shown(snapshot.view))
                events = detect_events(self.previous, current, self.thresholds, self.min_healthy)
                self.previous = current
            if self.terminal:
                self.draw(state, snapshot)
            else:
                for event in events:
                    self.out.write(scrub(orjson.dumps(event).decode()) + "\n")
                self.out.flush()
            if self.runner is not None:
                for event in events:
                    self.runner.submit(event)

    def shown(self, view: View) -> View:
        """The view as the screen and the events show it (masked under ``--redact``)."""
        if not self.redact:
            return view
        from pipeline.report.view import redact_view

        return redact_view(view)

    def draw(self, state: LoopState, snapshot: Snapshot | None) -> None:
        size = shutil.get_terminal_size()
        status = f"Every {self.interval:g}s: {self.title}"
        if state.last_error:
            status += f"  [refresh failed: {state.last_error}; showing the last good report]"
        lines = [status[: size.columns], ""]
        lines += self.render(self.shown(snapshot.view)).splitlines() if snapshot else ["(waiting for the first report)"]
        if len(lines) > size.lines - 1:
            hidden = len(lines) - (size.lines - 2)
            lines = [*lines[: size.lines - 2], f"... {hidden} more lines (a taller window shows them)"]
        self.out.write(scrub(HOME + "".join(line + CLEAR_LINE + "\n" for line in lines) + CLEAR_BELOW))
        self.out.flush()


def watch_pool(
    refresher: Refresher,
    *,
    interval: float,
    title: str,
    render: Callable[[View], str],
    terminal: bool,
    thresholds: Sequence[int],
    min_healthy: int | None,
    on_event: Sequence[str] | None,
    on_event_timeout: float,
    say: Callable[[str], None],
    redact: bool = False,
    hook: SnapshotHook | None = None,
) -> tuple[RefreshLoop, int]:
    """``codex auth watch``: the loop and the exit code, once SIGINT or SIGTERM came."""
    runner = EventRunner(on_event, on_event_timeout, say) if on_event else None
    # on a terminal, failures show in the redrawn status line instead of scrolling stderr
    loop = RefreshLoop(refresher, interval, hook=hook, say=(lambda line: None) if terminal else say)
    watch = Watch(
        terminal=terminal,
        out=sys.stdout,
        thresholds=thresholds,
        min_healthy=min_healthy,
        runner=runner,
        render=render,
        interval=interval,
        title=title,
        redact=redact,
    )
    return loop, run_watch(loop, watch, runner)


def run_watch(loop: RefreshLoop, watch: Watch, runner: EventRunner | None) -> int:
    """Run until SIGINT or SIGTERM; leave the screen as it was; exit 0 (141 when the reader
    of the events went away)."""
    stop = watch.stop
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    if watch.terminal:
        watch.out.write(ENTER)
        watch.out.flush()
    loop.on_run = watch.after_run
    loop.start()
    try:
        while not stop.wait(0.25):
            pass
    finally:
        loop.stop(wait=1.5)
        with watch.lock:
            if watch.terminal:
                watch.out.write(LEAVE)
                watch.out.flush()
            elif watch.reader_gone:
                _quiet_stdout()
        if runner is not None:
            runner.close(wait=runner.timeout + 1)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 141 if watch.reader_gone else 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
