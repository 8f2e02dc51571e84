"""Test helpers for frameworks built with mesos-framework.

[`LocalCluster`][mesos_framework.LocalCluster] is a local Mesos-compatible
cluster; the pytest plugin `pytest_mesos_framework` (loaded automatically once
the package is installed, or with `-p mesos_framework.testing.plugin`) provides
the `local_cluster` fixture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesos_framework._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from mesos_framework.local import LocalCluster

__all__ = ["LocalCluster"]

if not TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above (and so catch a misspelt name).
    __getattr__, __dir__ = _lazy_exports(
        __name__,
        {
            "mesos_framework.local": ["LocalCluster"],
        },
    )
