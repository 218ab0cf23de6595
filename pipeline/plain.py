"""Value classes for the default report's path, without the dataclass machinery.

Making a dataclass costs most of a millisecond when its module is imported (its methods are
generated and compiled), and a default report imports a dozen of them: the classes there are
plain ones with ``__slots__`` and their own ``__init__``, and derive from :class:`Plain`,
which compares and shows them by their slots as a dataclass does. ``tests/cli/test_imports.py``
holds the default report to not loading :mod:`dataclasses`.
"""

from __future__ import annotations

from typing import Any, TypeVar

P = TypeVar("P", bound="Plain")


class Plain:
    """Equal when of the same class with equal slots (in ``__slots__`` order), shown as
    ``Name(field=value, ...)``, unhashable (a class that defines ``__eq__`` alone is): what
    ``@dataclass`` gives."""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Plain)
        return self._values() == other._values()

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{self.__class__.__qualname__}({shown})"


class Frozen(Plain):
    """A :class:`Plain` value that cannot change once made (``@dataclass(frozen=True)``):
    hashable, and assigning a field raises :class:`AttributeError`. Its ``__init__`` sets the
    fields with :func:`object.__setattr__`."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")


def replace(value: P, **changes: Any) -> P:
    """A copy of ``value`` with ``changes`` (``dataclasses.replace`` for a :class:`Plain`)."""
    fields = {name: getattr(value, name) for name in value.__slots__}
    unknown = set(changes) - set(fields)
    if unknown:
        raise TypeError(f"{value.__class__.__qualname__} has no field {sorted(unknown)[0]!r}")
    return value.__class__(**(fields | changes))
