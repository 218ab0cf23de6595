"""The always-on commands, on the in-process floor: ``serve`` (a Prometheus exporter and
read-only web server, :mod:`.exporter`) and ``watch`` (:mod:`.watch`), both driven by the
refresh loop of :mod:`.snapshots`; :mod:`.events` says what changed between two snapshots."""
