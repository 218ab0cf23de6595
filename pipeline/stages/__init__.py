"""The five stages. Each module exports one function named after its verb that knows
nothing of click: the CLI (:mod:`pipeline.cli`) and the in-process report
(:mod:`pipeline.in_process`) are thin adapters over them."""
