"""Live mode: talking to the ChatGPT backend and the OAuth service, and the few writes live
mode must make (rotated tokens, the quota cache, our verification history).

Only :mod:`pipeline.stages.probe` imports this package, so httpx is loaded only by
``probe`` and ``report --live``.
"""
