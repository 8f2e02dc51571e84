"""Lazy re-exports for the package's ``__init__`` modules: one helper, used by every one.

A package lists, per module, the public names it re-exports from there; the
module is imported on the first access of one of its names (PEP 562 module
``__getattr__``), so that ``import mesos_framework`` costs almost nothing and
each layer loads when it is first used.  Type checkers and IDEs see the same
names through ``if TYPE_CHECKING:`` imports next to the call (a test keeps the
two, and ``__all__``, in agreement).  The pattern, in full:

    from typing import TYPE_CHECKING

    from mesos_framework._lazy import lazy_exports as _lazy_exports

    if TYPE_CHECKING:
        from mesos_framework.pkg.mod import Name

    __all__ = ["Name"]

    if not TYPE_CHECKING:  # else type checkers would accept any name through __getattr__
        __getattr__, __dir__ = _lazy_exports(__name__, {"mesos_framework.pkg.mod": ["Name"]})

A name that is the last part of its module (``{"mesos_framework.tasks": ["tasks", ...]}``
in ``mesos_framework``) stands for the module itself.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["exports", "lazy_exports"]


def lazy_exports(
    package: str, modules: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, re-exporting ``modules``' names.

    ``modules`` maps a module to the names taken from it.  A name listed twice is an error
    (`ValueError`), so two modules cannot silently compete for it.
    """
    names: dict[str, str] = {}
    for module, listed in modules.items():
        for name in listed:
            if name in names:
                raise ValueError(f"{package}: {name!r} is re-exported from {names[name]} and {module}")
            names[name] = module
    return exports(package, names)


def exports(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`lazy_exports()` from a map of each name to its module (the form the helper builds)."""
    known = dict(names)

    def __getattr__(name: str) -> Any:
        source = known.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(source)
        value = module if source == f"{package}.{name}" else getattr(module, name)
        # Cached on the package, so the next access is a plain attribute lookup.
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(known))

    return __getattr__, __dir__
