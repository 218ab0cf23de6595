"""codex-auth-report: a health and quota report for a pool of ChatGPT/Codex accounts.

The report is built by five stages that pass NDJSON records to each other:
``collect`` -> ``probe`` (live mode) -> ``score`` -> ``recommend`` -> ``render``.
``codex auth report`` composes them in-process (see :mod:`pipeline.in_process`).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
