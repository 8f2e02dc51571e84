"""The public surface: exports, the mesos namespace, the generated schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mesos_framework import protocol
from mesos_framework.protocol import get_mesos, mesos
from tests.support.prereq import unavailable

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = {
    "mesos",
    "get_mesos",
    "ContentType",
    "to_dict",
    "from_dict",
    "to_json",
    "from_json",
    "encode",
    "decode",
    "RecordIODecoder",
    "recordio_encode",
    "parse_duration",
    "format_duration",
    "Builder",
    "DEFAULT_MAX_RECORD_SIZE",
}


def test_all_matches_public_names() -> None:
    # dir(), not vars(): the names are imported on first use (module __getattr__).
    public = {n for n in dir(protocol) if n.isidentifier() and not n.startswith("_")} - {
        "annotations",
        "ModuleType",
        "TYPE_CHECKING",
    }
    submodules = {"builder", "codec", "duration", "jsoncodec", "recordio"}
    assert set(protocol.__all__) == public - submodules
    assert set(protocol.__all__) >= CONTRACT


def test_namespace_contents() -> None:
    assert get_mesos() is mesos
    assert mesos.TaskID(value="x").value == "x"
    assert mesos.CommandInfo(value="env && sleep 100", shell=True).shell is True
    assert mesos.TaskState.Name(mesos.TaskState.TASK_RUNNING) == "TASK_RUNNING"
    assert mesos.TaskState.Value("TASK_RUNNING") == mesos.TASK_RUNNING
    assert mesos.scheduler.Call.Type.Name(mesos.scheduler.Call.ACCEPT) == "ACCEPT"
    assert mesos.executor.Event.Type.Value("LAUNCH_GROUP") == mesos.executor.Event.LAUNCH_GROUP
    # Nested dicts and enum names in constructors.
    res = mesos.Resource(name="cpus", type="SCALAR", scalar={"value": 1.5})
    assert res.scalar.value == 1.5
    assert "DESCRIPTOR" not in mesos.__all__
    assert {"scheduler", "executor", "TaskID", "TaskState", "TASK_RUNNING"} <= set(mesos.__all__)


def test_every_message_class_has_helpers() -> None:
    from tests.unit.protocol.strategies import ALL_MESSAGE_CLASSES

    for cls in ALL_MESSAGE_CLASSES:
        for name in ("from_dict", "from_json", "to_dict", "to_json"):
            assert callable(getattr(cls, name)), (cls, name)


def test_generated_schema_is_up_to_date() -> None:
    inventory = ROOT.parent / "shared" / "docs" / "mesos-v1-messages.txt"
    if not inventory.exists():  # pragma: no cover - the inventory lives outside the repository
        unavailable(f"protocol inventory not found at {inventory}")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_schema.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_import_has_no_side_effects() -> None:
    code = (
        "import logging, threading, signal; before = threading.active_count();"
        "import mesos_framework.protocol;"
        "assert threading.active_count() == before;"
        "assert not logging.getLogger().handlers;"
        "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
