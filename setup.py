"""The optional C extension; everything else about the package is in pyproject.toml.

``_wirecheck`` speeds up the required-field check of protobuf decoding
(src/mesos_framework/protocol/_required.py).  It is optional: without a C compiler the build
warns and the package falls back to protobuf's own (slower) check.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mesos_framework.protocol._wirecheck",
            ["src/mesos_framework/protocol/_wirecheck.c"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra"],
            optional=True,
        )
    ]
)
