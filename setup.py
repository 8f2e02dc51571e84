"""The optional C extension; everything else about the package is in pyproject.toml.

`_wirecheck` speeds up the required-field check of protobuf decoding
(src/mesos_framework/protocol/_required.py). It is built on the stable ABI
(`Py_LIMITED_API` 3.11), so one `cp311-abi3` wheel serves every CPython from
3.11 on. It is optional: with `MESOS_FRAMEWORK_NO_EXTENSION=1`, or when no
working C compiler is found, the build makes a pure-Python `py3-none-any`
wheel and the package falls back to protobuf's own (slower) check.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import tempfile
from pathlib import Path

from setuptools import Extension, setup

LIMITED_API = 0x030B0000  # Python 3.11: the oldest the package supports (requires-python)


def _compiler_works() -> bool:
    """Whether the C compiler the build would use (CC is honoured) finds Python.h and compiles."""
    from setuptools._distutils.ccompiler import new_compiler  # noqa: PLC0415
    from setuptools._distutils.sysconfig import customize_compiler  # noqa: PLC0415

    compiler = new_compiler()
    customize_compiler(compiler)  # type: ignore[no-untyped-call]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "probe.c")
        source.write_text("#include <Python.h>\nint probe(void) { return 0; }\n")
        try:
            compiler.compile([str(source)], output_dir=tmp, include_dirs=[sysconfig.get_paths()["include"]])
        except Exception as exc:  # CompileError, or a missing executable
            print(
                f"mesos-framework: no working C compiler ({exc}); building without the extension",
                file=sys.stderr,
            )
            return False
    return True


def _extensions() -> list[Extension]:
    if os.environ.get("MESOS_FRAMEWORK_NO_EXTENSION") == "1" or not _compiler_works():
        return []
    return [
        Extension(
            "mesos_framework.protocol._wirecheck",
            ["src/mesos_framework/protocol/_wirecheck.c"],
            define_macros=[("Py_LIMITED_API", hex(LIMITED_API))],
            py_limited_api=True,
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra"],
        )
    ]


extensions = _extensions()
setup(
    ext_modules=extensions,
    options={"bdist_wheel": {"py_limited_api": "cp311"}} if extensions else {},
)
