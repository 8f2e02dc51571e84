"""Test helpers for frameworks built with mesos-framework.

:class:`LocalCluster` is a local Mesos-compatible cluster; the pytest plugin
:mod:`mesos_framework.testing.plugin` (loaded automatically once the package
is installed) provides the ``local_cluster`` fixture.
"""

from __future__ import annotations

from mesos_framework.local.cluster import LocalCluster

__all__ = ["LocalCluster"]
