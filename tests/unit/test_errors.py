"""The exception tree drawn in pipeline/errors.py is the true one: every exception class the
package defines is either in the drawing (a PipelineError, with the exit code drawn beside it)
or an internal signal named in errors.INTERNAL and caught somewhere in the package."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pipeline
from pipeline import errors
from pipeline.errors import ExitStatus, PipelineError

PACKAGE = Path(pipeline.__file__).parent
DRAWN = re.compile(r"^\s*[│ ]*[├└]── (\w+)\s+exit (\d+)\s", re.M)


def package_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of the package, by ``module.Class``."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages([str(PACKAGE)], "pipeline."):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == info.name:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def drawn() -> dict[str, int]:
    assert errors.__doc__ is not None
    return {name: int(code) for name, code in DRAWN.findall(errors.__doc__)}


def test_the_drawing_holds_every_error_a_user_reads() -> None:
    tree = drawn()
    assert "PipelineError" in tree and "ConfigError" in tree, tree
    users = {name: cls for name, cls in package_exceptions().items() if issubclass(cls, PipelineError)}
    assert len(users) >= 6, users
    for name, cls in users.items():
        assert cls.__name__ in tree, f"{name} derives from PipelineError but is not drawn in errors.py"
        assert tree[cls.__name__] == int(cls.exit_status), (
            f"{name}: exit {int(cls.exit_status)}, drawn {tree[cls.__name__]}"
        )
    assert set(tree) == {cls.__name__ for cls in users.values()}, "the drawing names a class that is not there"


def test_every_drawn_exit_code_is_a_documented_exit_status() -> None:
    assert set(drawn().values()) <= {int(code) for code in ExitStatus}


def test_every_other_exception_is_an_internal_signal_caught_in_the_package() -> None:
    others = {name for name, cls in package_exceptions().items() if not issubclass(cls, PipelineError)}
    assert others == set(errors.INTERNAL), "each exception outside the tree is named in errors.INTERNAL"
    source = "\n".join(path.read_text() for path in PACKAGE.rglob("*.py"))
    for name in others:
        short = name.rsplit(".", 1)[1]
        if "never raised" in errors.INTERNAL[name]:
            assert not re.search(rf"raise {short}\b", source), f"{name} is raised"
            continue
        assert re.search(rf"except[^:\n]*\b{short}\b", source), f"{name} is caught nowhere"


def test_a_history_error_is_a_pipeline_error() -> None:
    from pipeline.history.store import HistoryError

    assert issubclass(HistoryError, PipelineError) and HistoryError is errors.HistoryError
