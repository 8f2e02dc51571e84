"""The pytest plugin, under the package's name: `pytest -p mesos_framework.testing.plugin`.

The plugin itself is the top-level module `pytest_mesos_framework`, which the
installed package registers as a `pytest11` entry point (loaded automatically);
see its documentation for the `local_cluster` fixture and marker. Importing it
from here costs nothing beyond the (lazy) `mesos_framework` package itself.
"""

from __future__ import annotations

from pytest_mesos_framework import local_cluster, pytest_configure

__all__ = ["local_cluster", "pytest_configure"]
