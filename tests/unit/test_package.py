"""The package's public surface and import hygiene."""

from __future__ import annotations

import subprocess
import sys
import types

import mesos_framework


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(mesos_framework).items()
        if not name.startswith("_")
        and not (isinstance(value, types.ModuleType) and name not in {"errors", "mesos"})
        and name not in {"annotations", "version", "PackageNotFoundError"}
    }
    assert set(mesos_framework.__all__) - {"__version__"} == public
    for name in mesos_framework.__all__:
        assert getattr(mesos_framework, name) is not None


def test_public_subpackages_declare_all() -> None:
    import importlib

    for sub in (
        "errors",
        "protocol",
        "transport",
        "tasks",
        "scheduler",
        "executor",
        "health",
        "persistence",
        "local",
    ):
        module = importlib.import_module(f"mesos_framework.{sub}")
        exported = module.__all__
        assert exported, sub
        for name in exported:
            assert hasattr(module, name), f"mesos_framework.{sub}.{name} is in __all__ but missing"


def test_import_has_no_side_effects() -> None:
    code = (
        "import logging, signal, threading\n"
        "handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD)}\n"
        "import mesos_framework, mesos_framework.local, mesos_framework.cli\n"
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
        "assert logging.getLogger('mesos_framework').handlers == []\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert handlers == {s: signal.getsignal(s) for s in handlers}\n"
        "print('clean')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "clean"


def test_seed_namespace_accessor() -> None:
    mesos = mesos_framework.get_mesos()
    assert mesos is mesos_framework.mesos
    task_id = mesos.TaskID(value="my-task-id")
    assert task_id.value == "my-task-id"
    built = mesos_framework.Builder("mesos.CommandInfo").set_value("env && sleep 100").set_shell(True).build()
    assert built == mesos.CommandInfo(value="env && sleep 100", shell=True)
