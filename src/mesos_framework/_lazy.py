"""Lazy re-exports for the package's ``__init__`` modules.

A package lists its public names and the module each one comes from; the
module is imported on the first access of one of its names (PEP 562 module
``__getattr__``), so that ``import mesos_framework`` costs almost nothing and
each layer loads when it is first used.  Type checkers see the same names
through ``if TYPE_CHECKING:`` imports next to the map (a test keeps the two,
and ``__all__``, in agreement).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["exports"]


def exports(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, which re-exports ``names``.

    ``names`` maps each public name to the module it is imported from.  A name
    that is the last part of its module (``"errors": "mesos_framework.errors"``)
    stands for the module itself.
    """

    def __getattr__(name: str) -> Any:
        source = names.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(source)
        value = module if source == f"{package}.{name}" else getattr(module, name)
        # Cached on the package, so the next access is a plain attribute lookup.
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
