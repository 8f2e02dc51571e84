"""The pure-Python fallback: a wheel built where no C compiler works installs and decodes."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.prereq import unavailable

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import sys
import mesos_framework
from mesos_framework.protocol import ContentType, decode, encode, mesos
from mesos_framework.protocol._required import ACCELERATED

assert mesos_framework.__file__.startswith(sys.argv[1]), mesos_framework.__file__
assert ACCELERATED is False
event = mesos.scheduler.Event(type="SUBSCRIBED", subscribed={"framework_id": {"value": "f-1"}})
data = encode(event, ContentType.PROTOBUF)
assert decode(mesos.scheduler.Event, data, ContentType.PROTOBUF) == event
# The required-field check still works, through protobuf's own (slower) path.
try:
    incomplete = mesos.scheduler.Event(type="SUBSCRIBED", subscribed={}).SerializePartialToString()
    decode(mesos.scheduler.Event, incomplete, ContentType.PROTOBUF)
except Exception as exc:
    print("rejected:", type(exc).__name__)
print("decoded", mesos_framework.__version__)
"""


@pytest.mark.slow
def test_a_wheel_built_without_a_compiler_is_pure_and_works(tmp_path: Path) -> None:
    # build.__main__, not build: a setuptools build/ directory in the checkout imports as "build".
    try:
        import build.__main__  # noqa: F401
    except ImportError:
        unavailable("the build frontend (the [dev] extra) is not installed")
    env = {**os.environ, "CC": str(tmp_path / "no-such-cc")}  # no working C compiler
    env.pop("MESOS_FRAMEWORK_NO_EXTENSION", None)
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert "no working C compiler" in built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert "mesos_framework/protocol/_required.py" in names
    assert not [n for n in names if n.endswith((".so", ".c"))]

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    # The wheel's package comes first on the path; its dependencies come from this environment.
    out = subprocess.run(
        [sys.executable, "-c", CHECK, str(target)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(target)},
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "rejected: ProtocolError" in out.stdout or "rejected: MessageError" in out.stdout, out.stdout
    assert "decoded" in out.stdout
