"""The always-on commands, on the porcelain's floor: ``serve`` (a Prometheus exporter and
read-only web server, :mod:`.exporter`) and ``watch`` (:mod:`.watch`), both driven by the
refresh loop of :mod:`.snapshots`; :mod:`.events` says what changed between two snapshots."""
