"""The five stages. Each module exports one function named after its verb that knows
nothing of click: the CLI (:mod:`pipeline.cli`) and the porcelain
(:mod:`pipeline.porcelain`) are thin adapters over them."""
