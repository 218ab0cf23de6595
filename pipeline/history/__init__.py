"""The history of every live observation: a local SQLite database (:mod:`.store`), the rows
a run adds (:mod:`.samples`, pure) and what happened between them (:mod:`.events`, pure).

Only :mod:`.store` imports ``sqlite3``; nothing here is loaded by a default report.
"""
