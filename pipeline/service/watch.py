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
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

import orjson

from pipeline.events import Event, Pool
from pipeline.report.view import View
from pipeline.scrubbing import scrub
from pipeline.service.events import detect_events, pool_state
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
        self.previous: Pool | None = None
        self.seen: Snapshot | None = None
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.reader_gone = False
        self.keys = False  # q quits: stdin is a terminal read key by key

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
        size = window_size(self.out)
        status = f"Every {self.interval:g}s: {self.title}" + ("  (q quits)" if self.keys else "")
        if state.last_error:
            status += f"  [refresh failed: {state.last_error}; showing the last good report]"
        lines = [status[: size.columns], ""]
        report = self.render(self.shown(snapshot.view)) if snapshot else "(waiting for the first report)"
        # the last row stays empty: a line that ends in the bottom row would scroll the screen
        lines += fit_report(report, size.lines - 1 - 2, size.columns)
        self.out.write(scrub(HOME + "".join(line + CLEAR_LINE + "\n" for line in lines) + CLEAR_BELOW))
        self.out.flush()


def window_size(out: IO[str]) -> os.terminal_size:
    """The terminal's size as it is now (read from the terminal itself: a COLUMNS or LINES left
    in the environment is often stale after a resize), else the environment's, else 80x24."""
    try:
        return os.get_terminal_size(out.fileno())
    except (OSError, ValueError, AttributeError):
        return shutil.get_terminal_size()


_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def screen_rows(line: str, columns: int) -> int:
    """How many rows of a ``columns``-wide terminal ``line`` takes once wrapped (colour codes
    take none)."""
    width = len(_ESCAPE.sub("", line))
    return max(1, -(-width // max(1, columns)))


def fit_report(report: str, rows: int, columns: int) -> list[str]:
    """The text report as it is when it fits in ``rows`` wrapped rows; else what matters first:
    the title and Summary, the Recommendation, the warnings, the accounts with a problem, the
    flagged accounts, then the healthy ones, as many as fit, and one ``... N more`` line."""
    lines = report.splitlines()
    if sum(screen_rows(line, columns) for line in lines) <= rows:
        return lines
    head, sections = _sections(lines)
    first = [*head, *_section(sections, "Summary:"), *_section(sections, "Recommendation:")]
    first += _section(sections, "Warnings:")
    if first and first[-1]:
        first.append("")
    active: list[list[str]] = next(
        (part for heading, part in sections.items() if heading.startswith("Active Accounts")), [[]]
    )
    heading, items = active[0], active[1:]
    problems: list[list[str]] = []
    healthy: list[list[str]] = []
    for item in items:
        (healthy if any(_ESCAPE.sub("", line).strip() == "Status: Healthy" for line in item) else problems).append(item)
    flagged = sections.get("Flagged Accounts:", [[]])
    blocks: list[list[str]] = [first]
    blocks += [[*heading, *item] if n == 0 else item for n, item in enumerate(problems)]
    blocks += [[*flagged[0], *item] if n == 0 else item for n, item in enumerate(flagged[1:])]
    blocks += [["Healthy Accounts:", *item] if n == 0 else item for n, item in enumerate(healthy)]
    shown: list[str] = []
    used = 0
    for number, block in enumerate(blocks):
        need = sum(screen_rows(line, columns) for line in block)
        if used + need > rows - 1:  # one row for the "... more" line
            if number == 0:  # not even the summary fits: as many of its lines as do
                for line in block:
                    used += screen_rows(line, columns)
                    if used > rows - 1:
                        break
                    shown.append(line)
            left = len(blocks) - max(1, number)
            shown.append(f"... {left} more account{'' if left == 1 else 's'} (a taller window shows them)"[:columns])
            return shown
        shown += block
        used += need
    return shown


def _sections(lines: list[str]) -> tuple[list[str], dict[str, list[list[str]]]]:
    """The title lines, and each section by its heading: ``[heading lines, item, item...]``
    where an item is one numbered entry with its indented lines and the blank line after it."""
    head: list[str] = []
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for line in lines:
        if line and not line.startswith(" ") and line.endswith(":"):
            current = sections.setdefault(line, [[line]])
        elif current is None:
            head.append(line)
        elif re.match(r"^  \d+\. ", line):
            current.append([line])
        else:
            current[-1].append(line)
    return head, sections


def _section(sections: dict[str, list[list[str]]], heading: str) -> list[str]:
    return [line for part in sections.get(heading, []) for line in part]


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
    saved = _keys_on(watch) if watch.terminal else None
    loop.on_run = watch.after_run
    loop.start()
    try:
        while not stop.is_set():
            if saved is None:
                stop.wait(0.25)
            elif _key_pressed(0.25) in ("q", "Q"):
                stop.set()
    finally:
        if saved is not None:
            _keys_off(saved)
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


def _keys_on(watch: Watch) -> list[Any] | None:
    """On a terminal stdin, read keys as they are pressed (no echo, no Enter; Ctrl-C still
    interrupts); return the settings to restore, or None when stdin is no terminal."""
    try:
        import termios
        import tty

        fd = sys.stdin.fileno()
        if not os.isatty(fd):
            return None
        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
    except (ImportError, OSError, ValueError, AttributeError):
        return None
    watch.keys = True
    return saved


def _key_pressed(timeout: float) -> str | None:
    import select

    try:
        fd = sys.stdin.fileno()
        if not select.select([fd], [], [], timeout)[0]:
            return None
        data = os.read(fd, 32)
    except (OSError, ValueError):
        return None
    return data.decode("utf-8", "replace")[-1:] if data else None


def _keys_off(saved: list[Any]) -> None:
    try:
        import termios

        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
    except (ImportError, OSError, ValueError):
        pass


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
