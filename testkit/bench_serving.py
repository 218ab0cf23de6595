"""The always-on commands on large pools: one ``serve`` refresh and one ``watch`` redraw, as
real processes (``scripts/bench --parts serve``, or ``python -m testkit.bench_serving --sizes
1000,10000``).

For each size a real-shaped pool (:func:`testkit.poolkit.real_pool`) is written into a
temporary folder (HOME and CODEX_HOME point there too), then:

- ``serve`` (default mode, no ``--live``), twice. Once with ``--interval 0.001``: refreshes
  run back to back, so the time between two is one whole refresh (the pool read, the report,
  the forecast and its history, every form rendered); its resident memory is read after the
  first refresh and after the last, so growth per refresh shows. Once with ``--interval 1h``:
  after its first refresh nothing else runs, and ``/metrics`` (plain and gzip, as Prometheus
  asks) and ``/report.json`` are fetched a few times each (median time, size);
- ``watch`` in a pseudo-terminal of 50 x 120 with ``--interval 0.001``: each frame is one
  refresh and redraw; after each frame the bench swaps the pool's quota cache for one with
  other usage, so every refresh sees a changed pool (thresholds crossed, resets).

A step that has not finished within ``--budget`` seconds is stopped and said (``not done in
N s``), so a large size cannot hang the run. Figures: median seconds, MiB, and for each
figure the growth (of CPU time) from the first size to each next one. The CPU time is the
process's own (user + system per refresh), which a busy machine moves less than wall time.
"""

from __future__ import annotations

import argparse
import gzip
import os
import select
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from testkit import poolkit
from testkit.helpers import watch_in_terminal
from testkit.serving import ServeProcess

HOME_CODE = b"\x1b[H"  # the start of each watch frame (pipeline.service.watch.HOME)


@dataclass
class Figures:
    size: int
    serve_refresh_s: float | None = None  # one whole refresh, back to back
    serve_cpu_s: float | None = None  # the process's CPU time per refresh
    serve_first_s: float | None = None  # from listening to the first report served
    metrics_ms: float | None = None
    metrics_mb: float | None = None
    metrics_gzip_ms: float | None = None
    metrics_gzip_mb: float | None = None
    report_ms: float | None = None
    report_mb: float | None = None
    serve_rss_mib: tuple[float, float] | None = None  # after the first refresh, after the last
    serve_refreshes: int = 0
    watch_redraw_s: float | None = None
    watch_cpu_s: float | None = None
    watch_rss_mib: tuple[float, float] | None = None
    watch_frames: int = 0
    notes: list[str] = field(default_factory=list)


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system seconds the process has run so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def changed_cache(folder: Path) -> tuple[bytes, bytes]:
    """The pool's quota cache as written, and one with every window's usage moved by 37
    points (wrapping at 100) and its reset an hour later: the next snapshot crosses
    thresholds and sees resets."""
    original = (folder / "quota-cache.json").read_bytes()
    data = orjson.loads(original)
    for entries in (data["byAccountId"], data["byEmail"]):
        for entry in entries.values():
            for name in ("primary", "secondary"):
                window = entry.get(name)
                if window:
                    window["usedPercent"] = (window["usedPercent"] + 37) % 101
                    if "resetAtMs" in window:
                        window["resetAtMs"] += 3_600_000
    return original, orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def swap_in(folder: Path, data: bytes) -> None:
    temporary = folder / ".quota-cache.json.bench"
    temporary.write_bytes(data)
    os.replace(temporary, folder / "quota-cache.json")


def timed_get(serve: ServeProcess, path: str, runs: int, gzip_ok: bool = False) -> tuple[float, int]:
    """Median milliseconds of ``runs`` GETs of ``path``, and the body's size as sent."""
    headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        status, got, body = serve.request(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")
        if gzip_ok and got.get("Content-Encoding") == "gzip":
            gzip.decompress(body)  # a whole answer, as a scraper would read it
        size = len(body)
    return statistics.median(times), size


def serve_figures(figures: Figures, pool: Path, env: dict[str, str], refreshes: int, budget: float) -> None:
    args = ["--dir", str(pool)]
    started = time.monotonic()
    with ServeProcess([*args, "--interval", "0.001"], env=env, startup_timeout=budget) as serve:
        try:
            serve.wait_for(lambda h: h["runs"] >= 1, timeout=budget)
            first = serve.health()["runs"]
            figures.serve_first_s = time.monotonic() - started
            rss_first = rss_mib(serve.process.pid)
            began, cpu = time.monotonic(), cpu_s(serve.process.pid)
            serve.wait_for(lambda h: h["runs"] >= first + refreshes, timeout=budget * refreshes)
            last = serve.health()["runs"]
            figures.serve_refresh_s = (time.monotonic() - began) / (last - first)
            figures.serve_cpu_s = (cpu_s(serve.process.pid) - cpu) / (last - first)
            figures.serve_rss_mib = (rss_first, rss_mib(serve.process.pid))
            figures.serve_refreshes = last
        except AssertionError:
            figures.notes.append(f"serve: no refresh done in {budget:.0f} s")
            return
    with ServeProcess([*args, "--interval", "1h"], env=env, startup_timeout=budget) as serve:
        serve.wait_for(lambda h: h["status"] != "starting", timeout=budget)
        runs = 5 if figures.size <= 10_000 else 3
        ms, size = timed_get(serve, "/metrics", runs)
        figures.metrics_ms, figures.metrics_mb = ms, size / 1e6
        ms, size = timed_get(serve, "/metrics", runs, gzip_ok=True)
        figures.metrics_gzip_ms, figures.metrics_gzip_mb = ms, size / 1e6
        ms, size = timed_get(serve, "/report.json", runs)
        figures.report_ms, figures.report_mb = ms, size / 1e6


def watch_figures(figures: Figures, pool: Path, env: dict[str, str], frames: int, budget: float) -> None:
    original, changed = changed_cache(pool)
    process, master = watch_in_terminal(50, 120, "--dir", str(pool), "--interval", "0.001", env=env)
    seen: list[float] = []
    rss_first = cpu_first = float("nan")
    try:
        deadline = time.monotonic() + budget * (frames + 1)
        while len(seen) < frames + 1 and time.monotonic() < deadline and process.poll() is None:
            if not select.select([master], [], [], 0.2)[0]:
                continue
            try:
                chunk = os.read(master, 1 << 20)
            except OSError:
                break
            for _ in range(chunk.count(HOME_CODE)):
                seen.append(time.monotonic())
                if len(seen) == 1:
                    rss_first, cpu_first = rss_mib(process.pid), cpu_s(process.pid)
                swap_in(pool, changed if len(seen) % 2 else original)  # the next refresh sees a changed pool
        if len(seen) >= 2:
            figures.watch_redraw_s = (seen[-1] - seen[0]) / (len(seen) - 1)
            figures.watch_cpu_s = (cpu_s(process.pid) - cpu_first) / (len(seen) - 1)
            figures.watch_rss_mib = (rss_first, rss_mib(process.pid))
            figures.watch_frames = len(seen)
        else:
            figures.notes.append(f"watch: {len(seen)} frame(s) in {budget * (frames + 1):.0f} s")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except Exception:
                process.kill()
                process.wait()
        os.close(master)
        swap_in(pool, original)


def _s(value: float | None) -> str:
    return "" if value is None else f"{value:.2f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def _with_cpu(wall: float | None, cpu: float | None) -> str:
    return "" if wall is None else f"{_s(wall)} ({_s(cpu)})"


def _growth(value: float | None, base: float | None) -> str:
    return "" if value is None or not base else f"{value / base:.1f}x"


def table(rows: Sequence[Figures]) -> str:
    base = rows[0]
    lines = [
        "| accounts | serve refresh (CPU) | growth | /metrics (plain; gzip) | /report.json "
        "| serve RSS (1st; last refresh) | watch redraw (CPU) | growth | watch RSS |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        metrics = (
            f"{row.metrics_ms:.0f} ms, {row.metrics_mb:.1f} MB; {row.metrics_gzip_ms:.0f} ms, {row.metrics_gzip_mb:.1f} MB"
            if row.metrics_ms is not None and row.metrics_gzip_ms is not None
            else ""
        )
        report = f"{row.report_ms:.0f} ms, {row.report_mb:.1f} MB" if row.report_ms is not None else ""
        serve_rss = (
            f"{row.serve_rss_mib[0]:.0f}; {row.serve_rss_mib[1]:.0f} MiB ({row.serve_refreshes} refreshes)"
            if row.serve_rss_mib
            else ""
        )
        watch_rss = (
            f"{row.watch_rss_mib[0]:.0f}; {row.watch_rss_mib[1]:.0f} MiB ({row.watch_frames} frames)"
            if row.watch_rss_mib
            else ""
        )
        lines.append(
            f"| {row.size:,} | {_with_cpu(row.serve_refresh_s, row.serve_cpu_s)} "
            f"| {_growth(row.serve_cpu_s, base.serve_cpu_s)} | {metrics} | {report} | {serve_rss} "
            f"| {_with_cpu(row.watch_redraw_s, row.watch_cpu_s)} | {_growth(row.watch_cpu_s, base.watch_cpu_s)} "
            f"| {watch_rss} |"
        )
    for row in rows:
        for note in row.notes:
            lines.append(f"{row.size:,}: {note}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated pool sizes (default 1000,10000)")
    parser.add_argument("--refreshes", type=int, default=3, help="serve refreshes timed back to back (default 3)")
    parser.add_argument("--frames", type=int, default=4, help="watch frames timed (default 4)")
    parser.add_argument("--budget", type=float, default=600, help="seconds one refresh may take (default 600)")
    parser.add_argument("--parts", default="serve,watch", help="serve, watch or both (default)")
    args = parser.parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",")}
    rows = []
    with tempfile.TemporaryDirectory(prefix="codex-auth-bench-serve-") as tmp:
        env = dict(os.environ, HOME=tmp, CODEX_HOME=f"{tmp}/.codex", NO_COLOR="1")
        env.pop("CODEX_MULTI_AUTH_DIR", None)
        for size in (int(s) for s in args.sizes.split(",") if s.strip()):
            pool = poolkit.real_pool(Path(tmp) / f"pool-{size}", size, poolkit.now_ms())
            figures = Figures(size)
            refreshes = args.refreshes if size <= 10_000 else 1
            if "serve" in parts:
                serve_figures(figures, pool, env, refreshes, args.budget)
            if "watch" in parts:
                frames = args.frames * 3 if size <= 1000 else args.frames if size <= 10_000 else 2
                watch_figures(figures, pool, env, frames, args.budget)
            rows.append(figures)
            print(table(rows).splitlines()[-1] if not figures.notes else figures.notes[-1], file=sys.stderr, flush=True)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
