"""Live mode: talking to the ChatGPT backend and the OAuth service, and the writes live mode
must make (rotated tokens, the token journal, the quota cache, our verification history).

httpx is loaded only by the modules that talk to the network (``service``, ``tokens``), which
only ``probe`` and ``report --live`` import; ``recovery`` (the journal's read-only survey
every report makes, and ``codex auth repair``) stays free of it.
"""

DEFAULT_CONCURRENCY = 32
"""Probes in flight at once unless ``--concurrency`` says otherwise."""
MAX_CONCURRENCY = 64
"""The most ``--concurrency`` accepts: each account gets one request a run, so more buys little."""
