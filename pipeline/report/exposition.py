"""Prometheus' text exposition format (version 0.0.4), written in one place.

Every metric this tool writes itself (``--format prometheus``, the forecast's gauges, the
usage extras, and so ``serve``'s ``/metrics`` before the exporter's own) goes through
:class:`Metrics`: a family's name gets the ``codex_auth_`` prefix, its ``# HELP`` and
``# TYPE`` lines come once, with all its samples together, and a family with no sample is
left out whole. Label values are escaped here (:func:`labels`), HELP text too, and numbers
are written here (:func:`number`): an integer as it is, a whole float without ``.0``.
Samples carry no timestamps (node_exporter's textfile collector refuses them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PREFIX = "codex_auth_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what a scrape is served as

Sample = tuple[str, float | int]  # (the labels, written out and escaped by labels(); the value)


class Metrics:
    """Metric families in the order they are added, then :meth:`text`. Names get ``prefix``
    (``codex_auth_``; the process's own metrics are ``process_``)."""

    def __init__(self, prefix: str = PREFIX) -> None:
        self.prefix = prefix
        self._lines: list[str] = []
        self._names: set[str] = set()

    def gauge(self, name: str, help_text: str, samples: Iterable[Sample]) -> None:
        """``codex_auth_NAME``, its HELP and TYPE lines and its samples (none: left out)."""
        self._family(self.prefix + name, "gauge", help_text, samples)

    def counter(self, name: str, help_text: str, samples: Iterable[Sample]) -> None:
        """A counter: ``codex_auth_NAME_total``, as Prometheus names counters."""
        self._family(self.prefix + name + "_total", "counter", help_text, samples)

    def _family(self, full: str, kind: str, help_text: str, samples: Iterable[Sample]) -> None:
        if full in self._names:
            raise ValueError(f"metric family {full} written twice")
        lines = [
            f"{full}{{{labels}}} {number(value)}" if labels else f"{full} {number(value)}" for labels, value in samples
        ]
        if lines:
            self._names.add(full)
            self._lines.extend([f"# HELP {full} {escape_help(help_text)}", f"# TYPE {full} {kind}", *lines])

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"


def labels(*written: str, **pairs: str) -> str:
    """Label pairs as a sample writes them (``a="x",b="y"``): label strings already written
    (``written``, empty ones skipped) first, then ``pairs`` with their values escaped."""
    return ",".join([*(w for w in written if w), *(f'{key}="{escape_label(value)}"' for key, value in pairs.items())])


def account_labels(record: Mapping[str, object]) -> str:
    """The labels of an account's series: ``index`` (0-based), ``number`` (1-based, as the text
    report and ``switch <number>`` count), ``email`` and ``account_id`` (empty when unknown)."""
    index = record["index"]
    if not isinstance(index, int):
        raise TypeError(f"an account's index is a whole number, not {index!r}")
    return labels(
        index=str(index),
        number=str(index + 1),
        email=str(record.get("email") or ""),
        account_id=str(record.get("accountId") or ""),
    )


def escape_label(value: str) -> str:
    """A label value as the format wants it: backslash, double quote and line feed escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """HELP text: backslash and line feed escaped (a double quote stays)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def number(value: float | int) -> str:
    """A sample's value: an integer as it is, a whole float without ``.0``, else its repr."""
    if isinstance(value, int):
        return str(value)
    return repr(value) if value != int(value) else str(int(value))


def seconds(ms: int) -> float | int:
    """Milliseconds as Prometheus' base unit: whole seconds stay an integer."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def ratio(percent: float) -> float:
    """A percent (45) as a ratio (0.45), rounded to six places."""
    return round(float(percent) / 100, 6)
