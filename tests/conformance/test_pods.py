"""Pods: LAUNCH_GROUP task groups on the default executor.

Mesos's default executor (``src/launcher/default_executor.cpp``) runs each
task of a group in a nested container (``LAUNCH_NESTED_CONTAINER``) with its
own sandbox, ``<executor sandbox>/containers/<id>``, linked from
``tasks/<task id>``; the task's URIs are fetched there and the parent's
volumes mapped in. A task of a group that fails or is killed gets the other
tasks of its group killed. The real-Mesos harness's stand-in executor does
not run task groups, so these cases run on the local cluster only.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio

from mesos_framework.local import LocalCluster
from tests.conformance.rawclient import TERMINAL, RawScheduler, framework_info, small


@pytest_asyncio.fixture
async def env(http: aiohttp.ClientSession) -> AsyncIterator[tuple[LocalCluster, RawScheduler]]:
    async with LocalCluster(allocation_interval=0.2, status_update_retry=1.0) as cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("pods"))
        yield cluster, s
        await s.teardown()


def executor_info(offer: dict[str, Any], executor_id: str = "pod") -> dict[str, Any]:
    disk = next(r for r in offer["resources"] if r["name"] == "disk")
    return {
        "type": "DEFAULT",
        "executor_id": {"value": executor_id},
        "resources": [*small(offer), {**disk, "scalar": {"value": 32.0}}],
    }


async def launch_group(
    s: RawScheduler, tasks: dict[str, dict[str, Any]], *, executor_id: str = "pod"
) -> None:
    """One LAUNCH_GROUP: task name -> extra TaskInfo fields (a ``command`` at least)."""
    offer = (await s.offers())[0]
    infos = [
        {
            "name": name,
            "task_id": {"value": name},
            "agent_id": offer["agent_id"],
            "resources": small(offer),
            **extra,
        }
        for name, extra in tasks.items()
    ]
    executor = executor_info(offer, executor_id)
    await s.call(
        "ACCEPT",
        accept={
            "offer_ids": [offer["id"]],
            "filters": {"refuse_seconds": 0},
            "operations": [
                {
                    "type": "LAUNCH_GROUP",
                    "launch_group": {"executor": executor, "task_group": {"tasks": infos}},
                }
            ],
        },
    )


async def collect(s: RawScheduler, until: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Acknowledged updates per task until each task in ``until`` has reached that state."""
    seen: dict[str, list[dict[str, Any]]] = {}
    while any(until[t] not in [st["state"] for st in seen.get(t, [])] for t in until):
        st = (await s.wait_for(lambda e: e["type"] == "UPDATE", within=60))["update"]["status"]
        if "uuid" in st:
            await s.ack(st)
        seen.setdefault(st["task_id"]["value"], []).append(st)
    return seen


def executor_sandbox(cluster: LocalCluster, framework_id: str, executor_id: str = "pod") -> Path:
    pattern = f"*/frameworks/{framework_id}/executors/{executor_id}/runs/*"
    found = list((cluster.agents[0].work_dir / "slaves").glob(pattern))
    assert len(found) == 1, found
    return found[0]


def real_path(path: Path) -> str:
    return os.path.realpath(path)


def read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


async def wait_file(path: Path) -> str:
    for _ in range(300):
        if text := read(path):
            return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never written")


async def test_each_task_has_its_own_sandbox_and_output(env: tuple[LocalCluster, RawScheduler]) -> None:
    """Mesos: ``MESOS_SANDBOX`` of a group's task is its nested container's sandbox,
    ``containers/<id>`` of the executor's, linked from ``tasks/<task id>``; its stdout and
    stderr are files there."""
    cluster, s = env
    body = 'echo "$MESOS_SANDBOX" > where; pwd -P > pwd; echo out-$0; echo err-$0 >&2; exec sleep 600'
    await launch_group(
        s,
        {
            "a": {"command": {"value": f"sh -c '{body}' a"}},
            "b": {"command": {"value": f"sh -c '{body}' b"}},
        },
    )
    seen = await collect(s, {"a": "TASK_RUNNING", "b": "TASK_RUNNING"})
    assert [st["state"] for st in seen["a"]] == ["TASK_STARTING", "TASK_RUNNING"]
    sandbox = executor_sandbox(cluster, s.framework_id or "")
    dirs = {}
    for name in ("a", "b"):
        link = sandbox / "tasks" / name
        assert link.is_symlink()
        target = Path(os.readlink(link))
        assert target.parent == sandbox / "containers"
        assert re.fullmatch(r"[0-9a-f-]{36}", target.name)
        assert (await wait_file(target / "where")).strip() == str(target)
        assert (await wait_file(target / "pwd")).strip() == real_path(target)
        assert f"out-{name}" in await wait_file(target / "stdout")
        assert f"err-{name}" in await wait_file(target / "stderr")
        dirs[name] = target
    assert dirs["a"] != dirs["b"]


async def test_killing_one_task_kills_the_group(env: tuple[LocalCluster, RawScheduler]) -> None:
    """Mesos: KILL of one task of a group kills that task; as it ends ``TASK_KILLED``, the
    default executor kills the rest of the group."""
    _cluster, s = env
    await launch_group(
        s, {"a": {"command": {"value": "sleep 600"}}, "b": {"command": {"value": "sleep 600"}}}
    )
    await collect(s, {"a": "TASK_RUNNING", "b": "TASK_RUNNING"})
    await s.call("KILL", kill={"task_id": {"value": "a"}})
    seen = await collect(s, {"a": "TASK_KILLED", "b": "TASK_KILLED"})
    assert seen["a"][-1]["message"] == "Command terminated with signal Terminated"


async def test_a_failing_task_kills_its_group_only(env: tuple[LocalCluster, RawScheduler]) -> None:
    """Mesos: a task that fails (non-zero exit) gets the other tasks of its group killed, not
    other groups on the same executor; a task that finishes (exit 0) leaves the others running."""
    _cluster, s = env
    await launch_group(
        s, {"keep": {"command": {"value": "sleep 600"}}, "done": {"command": {"value": "exit 0"}}}
    )
    await collect(s, {"keep": "TASK_RUNNING", "done": "TASK_FINISHED"})
    await launch_group(
        s,
        {
            "g2-sleep": {"command": {"value": "sleep 600"}},
            "g2-fail": {"command": {"value": "sleep 0.5; exit 3"}},
        },
    )
    seen = await collect(s, {"g2-fail": "TASK_FAILED", "g2-sleep": "TASK_KILLED"})
    assert seen["g2-fail"][-1]["message"] == "Command exited with status 3"
    assert "keep" not in seen
    assert await s.quiet(1.0, lambda e: e["type"] == "UPDATE") == []


async def test_uris_are_fetched_into_each_task_sandbox(
    env: tuple[LocalCluster, RawScheduler], tmp_path: Path
) -> None:
    """Mesos: the agent fetches a nested container's ``CommandInfo.uris`` into its own sandbox."""
    _cluster, s = env
    source = tmp_path / "payload.txt"
    source.write_text("payload")
    await launch_group(
        s,
        {
            "with": {
                "command": {"value": "test -f payload.txt && sleep 600", "uris": [{"value": str(source)}]}
            },
            "without": {"command": {"value": "test ! -e payload.txt && sleep 600"}},
        },
    )
    await collect(s, {"with": "TASK_RUNNING", "without": "TASK_RUNNING"})
    assert await s.quiet(1.0, lambda e: e["type"] == "UPDATE") == []  # both tests passed


async def test_a_failed_fetch_fails_the_task_and_kills_the_group(
    env: tuple[LocalCluster, RawScheduler],
) -> None:
    """Mesos: when a nested container cannot be launched (here its fetch fails), the default
    executor reports ``TASK_FAILED`` with the launch error, "Failed to fetch all URIs for
    container '<executor container>.<task container>': exited with status 1" (no reason), and
    kills the rest of the group."""
    _cluster, s = env
    await launch_group(
        s,
        {
            "bad": {"command": {"value": "true", "uris": [{"value": "/nonexistent/file.txt"}]}},
            "good": {"command": {"value": "sleep 600"}},
        },
    )
    seen = await collect(s, {"bad": "TASK_FAILED", "good": "TASK_KILLED"})
    bad = seen["bad"][-1]
    assert [st["state"] for st in seen["bad"]] == ["TASK_STARTING", "TASK_FAILED"]
    assert re.fullmatch(
        r"Failed to fetch all URIs for container '[0-9a-f-]{36}\.[0-9a-f-]{36}': exited with status 1",
        bad["message"],
    ), bad["message"]
    assert "reason" not in bad
    assert bad["source"] == "SOURCE_EXECUTOR"
    assert [st["state"] for st in seen["good"]][-1] in TERMINAL


async def test_sandbox_path_volumes_share_the_executor_sandbox(
    env: tuple[LocalCluster, RawScheduler],
) -> None:
    """Mesos: a ``SANDBOX_PATH`` volume of type ``PARENT`` maps a directory of the executor's
    sandbox into the task's at ``container_path``: tasks of a pod share files through it."""
    _cluster, s = env
    volume = {
        "container_path": "shared",
        "mode": "RW",
        "source": {"type": "SANDBOX_PATH", "sandbox_path": {"type": "PARENT", "path": "exchange"}},
    }
    container = {"type": "MESOS", "volumes": [volume]}
    await launch_group(
        s,
        {
            "writer": {"command": {"value": "echo hi > shared/note && sleep 600"}, "container": container},
            "reader": {
                "command": {
                    "value": "while [ ! -f shared/note ]; do sleep 0.1; done; grep -q hi shared/note"
                },
                "container": container,
            },
        },
    )
    await collect(s, {"writer": "TASK_RUNNING", "reader": "TASK_FINISHED"})
