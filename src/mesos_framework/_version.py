"""The package version, kept equal to ``[project] version`` in pyproject.toml by a test.

A plain constant, so that ``mesos_framework.__version__`` costs no
``importlib.metadata`` lookup.
"""

__version__ = "0.1.0.dev0"
