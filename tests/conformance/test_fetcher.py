"""The fetcher: ``CommandInfo.uris`` in the sandbox before the task starts.

Mesos's agent fetches them with ``mesos-fetcher`` before starting the
executor (``src/slave/containerizer/fetcher.cpp``,
``src/launcher/fetcher.cpp``, ``docs/fetcher.md``). The real-Mesos harness
runs tasks through a stand-in executor that does not take part in it, so
these cases run on the local cluster only; each docstring states the
upstream behaviour. Files are served from a loopback HTTP server.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zipfile
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from mesos_framework.local import LocalCluster
from tests.conformance.rawclient import TERMINAL, RawScheduler, framework_info


class Files:
    """A loopback HTTP server for files, counting requests per path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: Counter[str] = Counter()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.hits[name] += 1
        if name not in self.files:
            return web.Response(status=404, text="no such file")
        return web.Response(body=self.files[name])


@pytest_asyncio.fixture
async def files() -> AsyncIterator[Files]:
    served = Files()
    app = web.Application()
    app.router.add_get("/{name}", served.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    served.url = f"http://127.0.0.1:{port}"
    yield served
    await runner.cleanup()


@pytest_asyncio.fixture
async def env(http: aiohttp.ClientSession) -> AsyncIterator[tuple[LocalCluster, RawScheduler]]:
    async with LocalCluster(allocation_interval=0.2, status_update_retry=1.0) as cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("fetcher"))
        yield cluster, s
        await s.teardown()


async def run(s: RawScheduler, command: str, uris: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Launch a command task with ``uris``; its updates (acknowledged) until a terminal one."""
    offer = (await s.offers())[0]
    task_id = await s.launch(offer, {"value": command, "uris": uris})
    seen = []
    while True:
        status = await s.update(task_id, within=60)
        if "uuid" in status:
            await s.ack(status)
        seen.append(status)
        if status["state"] in TERMINAL:
            return seen


def tar_bytes(mode: str, members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def sandbox_stderr(cluster: LocalCluster, framework_id: str) -> str:
    """The stderr files of the framework's sandboxes on agent 1, together."""
    pattern = f"*/frameworks/{framework_id}/executors/*/runs/*/stderr"
    found = sorted((cluster.agents[0].work_dir / "slaves").glob(pattern))
    assert found, "no sandbox"
    return "".join(path.read_text() for path in found)


async def test_http_uris_extract_executable_and_output_file(
    env: tuple[LocalCluster, RawScheduler], files: Files
) -> None:
    """Mesos: each URI lands in the sandbox under ``output_file`` (subdirectories created) or
    its basename; ``executable`` makes it ``0755``; ``extract`` (the default) unpacks
    ``.tar``/``.tgz``/``.tar.gz``/``.tbz2``/``.tar.bz2``/``.txz``/``.tar.xz``/``.zip`` into the
    sandbox and a bare ``.gz`` into the name without ``.gz``; other files stay as they are."""
    _cluster, s = env
    files.files = {
        "tool.sh": b"#!/bin/sh\necho tool-ran\n",
        "a.tar.gz": tar_bytes("w:gz", {"ga/one.txt": b"1"}),
        "b.tgz": tar_bytes("w:gz", {"gb.txt": b"2"}),
        "c.tar.bz2": tar_bytes("w:bz2", {"bz.txt": b"3"}),
        "d.tar.xz": tar_bytes("w:xz", {"xz.txt": b"4"}),
        "e.tar": tar_bytes("w", {"plain-tar.txt": b"5"}),
        "f.zip": zip_bytes({"zipped/z.txt": b"6"}),
        "notes.txt.gz": gzip.compress(b"hello gz"),
        "kept.tar.gz": tar_bytes("w:gz", {"never.txt": b"7"}),
        "data.json": b"{}",
    }
    uris = [
        {"value": f"{files.url}/tool.sh", "executable": True},
        *({"value": f"{files.url}/{n}"} for n in ("a.tar.gz", "b.tgz", "c.tar.bz2", "d.tar.xz", "e.tar")),
        {"value": f"{files.url}/f.zip"},
        {"value": f"{files.url}/notes.txt.gz"},
        {"value": f"{files.url}/kept.tar.gz", "extract": False},
        {"value": f"{files.url}/data.json", "output_file": "conf/deep/settings.json"},
    ]
    checks = [
        "test -x tool.sh",
        "./tool.sh | grep -q tool-ran",
        "test -f ga/one.txt",
        "test -f gb.txt",
        "test -f bz.txt",
        "test -f xz.txt",
        "test -f plain-tar.txt",
        "test -f zipped/z.txt",
        "grep -q 'hello gz' notes.txt",
        "test -f kept.tar.gz",
        "test ! -e never.txt",
        "test -f conf/deep/settings.json",
        "test ! -e data.json",
    ]
    command = " && ".join(f"{{ {c} || {{ echo 'failed: {c}' >&2; exit 1; }}; }}" for c in checks)
    seen = await run(s, command, uris)
    assert seen[-1]["state"] == "TASK_FINISHED", seen[-1]


async def test_local_paths_and_file_uris(env: tuple[LocalCluster, RawScheduler], tmp_path: Path) -> None:
    """Mesos (``Fetcher::uriToLocalPath``): a path without a scheme or a ``file://`` URI is
    copied from the agent's filesystem (absolute paths only)."""
    _cluster, s = env
    (tmp_path / "one.txt").write_text("one")
    (tmp_path / "two.txt").write_text("two")
    uris = [{"value": str(tmp_path / "one.txt")}, {"value": f"file://{tmp_path / 'two.txt'}"}]
    seen = await run(s, "grep -q one one.txt && grep -q two two.txt", uris)
    assert seen[-1]["state"] == "TASK_FINISHED", seen[-1]


async def test_cache_downloads_once_per_user_and_uri(
    env: tuple[LocalCluster, RawScheduler], files: Files
) -> None:
    """Mesos (``FetcherProcess::Cache``): with ``cache`` a URI is downloaded once per agent and
    user into the cache and copied (or extracted) from there; without it, every fetch
    downloads."""
    cluster, s = env
    files.files = {"cached.tgz": tar_bytes("w:gz", {"c.txt": b"c"}), "fresh.txt": b"f"}
    uris = [{"value": f"{files.url}/cached.tgz", "cache": True}, {"value": f"{files.url}/fresh.txt"}]
    for _ in range(2):
        seen = await run(s, "test -f c.txt && test -f fresh.txt && test ! -e cached.tgz", uris)
        assert seen[-1]["state"] == "TASK_FINISHED", seen[-1]
    assert files.hits["cached.tgz"] == 1
    assert files.hits["fresh.txt"] == 2
    assert cluster.agents[0].containers.fetcher.downloads == 1


async def test_failed_fetch_fails_the_task(env: tuple[LocalCluster, RawScheduler], files: Files) -> None:
    """Mesos: a URI that cannot be fetched fails the container's launch: the task ends
    ``TASK_FAILED``, ``REASON_CONTAINER_LAUNCH_FAILED``, "Failed to launch container: Failed to
    fetch all URIs for container '<id>': exited with status 1" (from the agent), and the
    fetcher's own message is in the sandbox's stderr."""
    cluster, s = env
    seen = await run(s, "true", [{"value": f"{files.url}/missing.bin"}])
    end = seen[-1]
    assert [st["state"] for st in seen] == ["TASK_FAILED"]
    assert end["reason"] == "REASON_CONTAINER_LAUNCH_FAILED"
    assert end["source"] == "SOURCE_AGENT"
    assert re.fullmatch(
        r"Failed to launch container: Failed to fetch all URIs for container '[0-9a-f-]{36}': "
        r"exited with status 1",
        end["message"],
    ), end["message"]
    stderr = sandbox_stderr(cluster, s.framework_id or "")
    why = "Error downloading resource, received HTTP return code 404"
    assert f"Failed to fetch '{files.url}/missing.bin': {why}" in stderr


async def test_invalid_uris_fail_before_fetching(env: tuple[LocalCluster, RawScheduler]) -> None:
    """Mesos (``validateUris``, ``uriToLocalPath``): a malformed URI fails the launch with
    "Could not fetch: ..."; a relative ``file://`` path fails in the fetcher."""
    cluster, s = env
    seen = await run(s, "true", [{"value": "http://example.invalid"}])
    assert seen[-1]["message"] == (
        "Failed to launch container: Could not fetch: Malformed URI (missing path): http://example.invalid"
    )
    seen = await run(s, "true", [{"value": "x", "output_file": "/etc/passwd"}])
    assert seen[-1]["message"] == (
        "Failed to launch container: Could not fetch: URI output file must be within the sandbox directory"
    )
    seen = await run(s, "true", [{"value": "file://relative/path.txt"}])
    assert seen[-1]["reason"] == "REASON_CONTAINER_LAUNCH_FAILED"
    stderr = sandbox_stderr(cluster, s.framework_id or "")
    assert "File URI only supports absolute paths" in stderr


async def test_other_schemes_go_through_the_hadoop_client(
    env: tuple[LocalCluster, RawScheduler], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mesos (``downloadWithHadoopClient``, ``HDFS::create``): ``hdfs://``, ``s3://`` and other
    schemes are fetched with ``$HADOOP_HOME/bin/hadoop fs -copyToLocal`` once ``hadoop version``
    succeeds; without a client the fetch fails with "Failed to create HDFS client: Hadoop client
    is not available, exit status: 32512" (the shell's 127 as a wait status). The client here is
    a stand-in script: the cluster's side is what is checked."""
    cluster, s = env
    monkeypatch.setenv("HADOOP_HOME", str(tmp_path / "nowhere"))
    seen = await run(s, "true", [{"value": "hdfs://namenode/data/part-0"}])
    assert seen[-1]["state"] == "TASK_FAILED"
    stderr = sandbox_stderr(cluster, s.framework_id or "")
    assert (
        "Failed to fetch 'hdfs://namenode/data/part-0': Failed to create HDFS client: "
        "Hadoop client is not available, exit status: 32512"
    ) in stderr
    client = tmp_path / "hadoop" / "bin" / "hadoop"
    client.parent.mkdir(parents=True)
    client.write_text(
        '#!/bin/sh\ncase "$1" in\n  version) echo "Hadoop 3.3.6" ;;\n'
        '  fs) [ "$2" = -copyToLocal ] && printf "from %s" "$3" > "$4" ;;\n  *) exit 2 ;;\nesac\n'
    )
    client.chmod(0o755)
    monkeypatch.setenv("HADOOP_HOME", str(tmp_path / "hadoop"))
    seen = await run(
        s, "test \"$(cat part-1)\" = 'from s3://bucket/part-1'", [{"value": "s3://bucket/part-1"}]
    )
    assert seen[-1]["state"] == "TASK_FINISHED", seen[-1]


async def test_cache_size_evicts_least_recently_used(files: Files, http: aiohttp.ClientSession) -> None:
    """Mesos (``--fetcher_cache_size``, ``Cache::reserve`` / ``selectVictims``): to make room for a
    new file the least recently used cache files are evicted; a file larger than the whole cache
    is fetched without it."""
    files.files = {"a.bin": b"a" * 1000, "b.bin": b"b" * 1000, "big.bin": b"x" * 2000}
    async with LocalCluster(
        allocation_interval=0.2, status_update_retry=1.0, fetcher_cache_size=1500
    ) as cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("fetch-cache"))
        fetcher = cluster.agents[0].containers.fetcher

        async def fetch(name: str) -> None:
            seen = await run(s, f"test -s {name}", [{"value": f"{files.url}/{name}", "cache": True}])
            assert seen[-1]["state"] == "TASK_FINISHED", seen[-1]

        await fetch("a.bin")
        await fetch("a.bin")  # from the cache
        assert (files.hits["a.bin"], fetcher.downloads) == (1, 1)
        await fetch("b.bin")  # 2,000 bytes would not fit: a.bin is evicted
        assert fetcher.downloads == 1
        await fetch("a.bin")  # downloaded again; b.bin goes
        assert (files.hits["a.bin"], fetcher.downloads) == (2, 1)
        await fetch("big.bin")  # never fits: fetched, not cached, nothing evicted
        await fetch("big.bin")
        assert files.hits["big.bin"] == 2
        assert [p.name.split("-", 1)[1] for p in fetcher.cache_dir.iterdir()] == ["a.bin"]
        await s.teardown()
