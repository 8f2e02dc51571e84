"""The executor and health packages export what they document, and importing them has no side effects."""

from __future__ import annotations

import subprocess
import sys

import mesos_framework.executor as executor_pkg
import mesos_framework.health as health_pkg
from mesos_framework import errors


def test_exports_exist() -> None:
    for package in (executor_pkg, health_pkg):
        assert sorted(package.__all__) == sorted(set(package.__all__))
        for name in package.__all__:
            assert getattr(package, name) is not None, name
    assert executor_pkg.ExecutorEnvironmentError is errors.ExecutorEnvironmentError


def test_import_has_no_side_effects() -> None:
    code = (
        "import logging, threading, signal\n"
        "before = threading.active_count()\n"
        "import mesos_framework.executor, mesos_framework.health, mesos_framework.executor.__main__\n"
        "assert threading.active_count() == before\n"
        "assert not logging.getLogger().handlers\n"
        "assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
