"""Reading codex-multi-auth's account storage (and Codex CLI's auth.json), read-only.

The modules here return plain Python objects that still hold credentials in memory;
only :mod:`pipeline.stages.collect` turns them into records, picking fields one by one
so that no token can slip into a record.
"""
