"""The report's other formats, each a function of the :class:`~pipeline.report.View`:
``prometheus`` (metrics for node_exporter's textfile collector), ``html`` (one
self-contained page) and ``markdown`` (a table for issues and chat). ``render_view``
imports each only when it is asked for. What the tabular formats share is here."""

from __future__ import annotations

from pipeline.report import STATUSES, View
from pipeline.stages.render import STATUS_LABELS


def status_summary(view: View) -> str:
    """``2 healthy, 1 warning, 1 rate-limited`` (statuses that no account has are left out)."""
    counts = view.status_counts()
    parts = [f"{counts[s]} {STATUS_LABELS[s].lower()}" for s in STATUSES if counts[s]]
    return ", ".join(parts) or "no active accounts"


def mode_text(view: View) -> str:
    return f"live probe (model {view.model})" if view.mode == "live" else "cached data, no live probe"
