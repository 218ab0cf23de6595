"""``python -m pipeline`` and the ``codex-auth`` console script (``pipeline.__main__:main``).

The command line loads here, not in :mod:`pipeline.cli` itself, so that only the process's
own entry point loads it with the cyclic collector paused and keeps what it loaded out of the
collector's reach (:func:`pipeline.gc_pause.loading`): a library caller importing
:mod:`pipeline.cli` keeps its collector as it was."""


def main() -> None:
    from pipeline.gc_pause import keep_what_is_loaded, loading

    keep_what_is_loaded()
    with loading():
        from pipeline.cli import main as cli_main
    cli_main()


if __name__ == "__main__":
    main()
