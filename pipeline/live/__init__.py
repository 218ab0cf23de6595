"""Live mode: talking to the ChatGPT backend and the OAuth service, and the writes live mode
must make (rotated tokens, the token journal, the quota cache, our verification history).

httpx is loaded only by the modules that talk to the network (``service``, ``tokens``), which
only ``probe`` and ``report --live`` import; ``recovery`` (the journal's read-only survey
every report makes, and ``codex auth repair``) stays free of it.
"""
