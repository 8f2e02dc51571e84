"""The package's public surface and import hygiene."""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

import pytest

import mesos_framework

ROOT = Path(__file__).resolve().parents[2]

# The packages whose public names are re-exported lazily (module __getattr__).
LAZY_PACKAGES = (
    "mesos_framework",
    "mesos_framework.protocol",
    "mesos_framework.transport",
    "mesos_framework.tasks",
    "mesos_framework.health",
    "mesos_framework.testing",
    "mesos_framework.local",
)
PUBLIC_SUBPACKAGES = (
    "errors",
    "protocol",
    "transport",
    "tasks",
    "scheduler",
    "executor",
    "health",
    "persistence",
    "local",
    "operator",
)


def _type_checking_imports(module: ModuleType) -> dict[str, str]:
    """``name -> module`` of the ``if TYPE_CHECKING:`` imports of a package's ``__init__``."""
    tree = ast.parse(inspect.getsource(module))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.dump(statement)
                assert statement.module is not None
                for alias in statement.names:
                    found[alias.asname or alias.name] = statement.module
    return found


def _defined_here(module: ModuleType) -> set[str]:
    """Public names a package defines itself (functions, classes, plain assignments)."""
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom) and node.module == "mesos_framework._version":
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_exports_agree_with_all_and_the_type_checking_imports(package: str) -> None:
    module = importlib.import_module(package)
    typed = _type_checking_imports(module)
    # What type checkers see is exactly the public surface, less what the package defines itself.
    assert set(typed) == set(module.__all__) - _defined_here(module)
    for name, source in typed.items():
        value = getattr(module, name)
        expected = importlib.import_module(source)
        if not (isinstance(value, ModuleType) and value.__name__ == f"{source}.{name}"):
            expected = getattr(expected, name)
        else:
            expected = value
        assert value is expected, f"{package}.{name} is not {source}.{name}"
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        _ = module.not_a_name


def test_top_level_names_come_from_public_subpackages() -> None:
    # The top-level map names subpackages, never modules inside them (they may be renamed).
    for name, source in _type_checking_imports(mesos_framework).items():
        assert source in {f"mesos_framework.{sub}" for sub in PUBLIC_SUBPACKAGES} | {"mesos_framework"}, (
            name,
            source,
        )


def test_subpackages_are_attributes_of_the_package() -> None:
    for sub in (*PUBLIC_SUBPACKAGES, "cli", "testing"):
        assert getattr(mesos_framework, sub) is importlib.import_module(f"mesos_framework.{sub}")


def test_public_subpackages_declare_all() -> None:
    for sub in PUBLIC_SUBPACKAGES:
        module = importlib.import_module(f"mesos_framework.{sub}")
        exported = module.__all__
        assert exported, sub
        for name in exported:
            assert hasattr(module, name), f"mesos_framework.{sub}.{name} is in __all__ but missing"


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_loads_no_subpackage_and_no_dependency() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import mesos_framework\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    loaded = set(ast.literal_eval(_run(code)))
    assert {m for m in loaded if m.startswith("mesos_framework")} == {
        "mesos_framework",
        "mesos_framework._lazy",
        "mesos_framework._version",
    }
    heavy = {"aiohttp", "google", "kazoo", "yarl", "orjson", "msgspec", "httptools", "click", "ssl"}
    assert not {m for m in loaded if m.split(".")[0] in heavy}, loaded
    assert "importlib.metadata" not in loaded


def test_the_command_lines_help_loads_no_event_loop_or_client_code() -> None:
    # `mesos-framework --help` (and each command's) answers without asyncio, the protocol or
    # the local cluster's server: only click and the command definitions.
    code = (
        "import sys\n"
        "from mesos_framework.cli import cli\n"
        "try:\n"
        "    cli.main(['--help'], prog_name='mesos-framework', standalone_mode=False)\n"
        "    cli.main(['local', '--help'], prog_name='mesos-framework', standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('asyncio', 'aiohttp', 'google', 'kazoo', 'mesos_framework.protocol')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "[]", out.stderr


def test_plain_http_clients_load_no_aiohttp() -> None:
    # Calls go over the httptools connections; aiohttp (and its SSL contexts) only with a stream.
    code = (
        "import sys\n"
        "from mesos_framework import Executor, Scheduler, TaskSpec\n"
        "from mesos_framework.transport import HttpClient\n"
        "client = HttpClient('127.0.0.1:5050')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiohttp'))\n"
    )
    assert _run(code) == "[]"


def test_an_executor_loads_no_zookeeper_client() -> None:
    # kazoo is for zk:// masters and ZooKeeper persistence; executors start without it.
    code = (
        "import sys\n"
        "from mesos_framework import CommandExecutor, Executor\n"
        "from mesos_framework.transport import detector_for\n"
        "detector_for('127.0.0.1:5051')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kazoo', 'aiohttp')))\n"
    )
    assert _run(code) == "[]"
    from mesos_framework.transport import ZooKeeperDetector, detector
    from mesos_framework.transport.zookeeper import ZooKeeperDetector as defined

    assert detector.ZooKeeperDetector is defined is ZooKeeperDetector


def test_import_has_no_side_effects() -> None:
    code = (
        "import logging, signal, threading\n"
        "handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD)}\n"
        "import mesos_framework, mesos_framework.local, mesos_framework.cli, mesos_framework.scheduler\n"
        "import mesos_framework.executor\n"
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
        "package = logging.getLogger('mesos_framework').handlers\n"
        "assert [type(h) for h in package] == [logging.NullHandler], package\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert handlers == {s: signal.getsignal(s) for s in handlers}\n"
        "print('clean')\n"
    )
    assert _run(code) == "clean"


def test_library_warnings_are_silent_without_logging_configured() -> None:
    # The NullHandler keeps Python's "last resort" handler from printing the library's warnings.
    code = (
        "import logging, mesos_framework\n"
        "logging.getLogger('mesos_framework.scheduler').warning('should not be printed')\n"
        "logging.getLogger('someone.else').warning('printed')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "should not be printed" not in out.stderr
    assert "printed" in out.stderr


def test_null_handler_is_the_only_handler() -> None:
    handlers = logging.getLogger("mesos_framework").handlers
    assert [type(h) for h in handlers] == [logging.NullHandler]


def test_version_is_the_distribution_version() -> None:
    assert mesos_framework.__version__ == version("mesos-framework")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "mesos_framework._version.__version__"
    }


def test_seed_namespace_accessor() -> None:
    mesos = mesos_framework.get_mesos()
    assert mesos is mesos_framework.mesos
    task_id = mesos.TaskID(value="my-task-id")
    assert task_id.value == "my-task-id"
    built = mesos_framework.Builder("mesos.CommandInfo").set_value("env && sleep 100").set_shell(True).build()
    assert built == mesos.CommandInfo(value="env && sleep 100", shell=True)


def test_messages_have_their_json_helpers_without_the_namespace_imported() -> None:
    # The lazy protocol package must not lose what importing it used to do: every message class
    # made or decoded by the codec or the Builder has from_dict/to_dict.
    code = (
        "from mesos_framework.protocol import ContentType, decode\n"
        "from mesos_framework.protocol._schema import mesos_pb2\n"
        'task = decode(mesos_pb2.TaskID, b\'{"value": "t"}\', ContentType.JSON)\n'
        "print(task.to_dict(), mesos_pb2.AgentID.from_dict({'value': 'a'}).value)\n"
    )
    assert _run(code) == "{'value': 't'} a"


def test_every_lazy_package_uses_the_one_helper() -> None:
    from mesos_framework import _lazy

    for package in LAZY_PACKAGES:
        source = inspect.getsource(importlib.import_module(package))
        assert "lazy_exports(" in source and "importlib" not in source, package
    with pytest.raises(ValueError, match="'A' is re-exported from m1 and m2"):
        _lazy.lazy_exports("p", {"m1": ["A"], "m2": ["A", "B"]})
