"""The mesos-framework pytest plugin (the package's ``pytest11`` entry point).

It lives outside the `mesos_framework` package on purpose: pytest imports every
installed plugin before coverage starts, so a plugin inside the package would
import `mesos_framework` unmeasured (coverage's "previously imported, but not
measured") in every test run of every project that has the library installed.
Nothing of `mesos_framework` is imported until a test asks for the fixture.

The `local_cluster` fixture (async; it needs pytest-asyncio, in the `[testing]`
extra) is a started [`LocalCluster`][mesos_framework.LocalCluster] with one
agent (`cpus:4;mem:4096;disk:10240;ports:[31000-32000]`), stopped after the test
with every process and temporary directory it made. Mark a test with
`@pytest.mark.local_cluster(agents=2, resources="cpus:2;mem:1024")` (any
`LocalCluster` keyword) to change it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mesos_framework.local import LocalCluster

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - pytest-asyncio is in the [testing] extra
    pytest_asyncio = None  # type: ignore[assignment]

__all__ = ["local_cluster", "pytest_configure"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the `local_cluster` marker."""
    config.addinivalue_line(
        "markers", "local_cluster(**kwargs): LocalCluster options for the local_cluster fixture"
    )


async def _local_cluster(request: pytest.FixtureRequest) -> AsyncIterator[LocalCluster]:
    """A running local Mesos-compatible cluster for one test."""
    # Imported here: merely having the library installed costs a pytest run nothing.
    from mesos_framework.local import LocalCluster  # noqa: PLC0415

    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("local_cluster")
    if marker is not None:
        options.update(marker.kwargs)
    async with LocalCluster(**options) as cluster:
        yield cluster


if pytest_asyncio is not None:
    local_cluster = pytest_asyncio.fixture(_local_cluster)
else:  # pragma: no cover

    @pytest.fixture
    def local_cluster() -> None:
        """Needs pytest-asyncio."""
        pytest.fail("the local_cluster fixture needs pytest-asyncio: pip install 'mesos-framework[testing]'")
