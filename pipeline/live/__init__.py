"""Live mode: talking to the ChatGPT backend and the OAuth service, and the few writes live
mode must make (rotated tokens, the quota cache, our verification history).

Only :mod:`pipeline.stages.probe` imports this package, so httpx is loaded only by
``probe`` and ``report --live``.
"""

DEFAULT_CONCURRENCY = 32
"""Probes in flight at once unless ``--concurrency`` says otherwise."""
MAX_CONCURRENCY = 64
"""The most ``--concurrency`` accepts: each account gets one request a run, so more buys little."""
