"""The Docker examples on an agent without Docker: the ACCEPT they send and the failure reported."""

from __future__ import annotations

import json
import re

import pytest

from mesos_framework.local import LocalCluster
from tests.examples.conftest import Runner

# Whatever the machine has, this agent finds no Docker engine.
no_docker = pytest.mark.local_cluster(docker_socket="/nonexistent/docker.sock")


@no_docker
async def test_bridge_networking_maps_host_ports_and_reports_the_failure(
    local_cluster: LocalCluster, run_example: Runner
) -> None:
    run = await run_example(
        "docker_scheduler.py", "--master", local_cluster.url, "--network", "bridge", "--max-restarts", "0"
    )
    why = run.explain()
    assert run.returncode == 1, why
    accepts = run.lines("ACCEPT launches")
    # Priority 1 (web) is placed before priority 2 (admin).
    assert [re.search(r"launches (\S+):", a).group(1) for a in accepts] == ["web-1", "web-2", "admin-1"], why  # type: ignore[union-attr]
    for line in accepts:
        assert "image python:3.12-alpine, network BRIDGE" in line, why
    web = re.search(r"port mappings \[(\d+)->8080/tcp\], env FOO=BAR PORT0=(\d+)", accepts[0])
    assert web and web.group(1) == web.group(2), why
    admin = re.search(r"\[(\d+)->8080/tcp, (\d+)->9090/tcp\], env PORT0=(\d+) PORT1=(\d+)", accepts[2])
    assert admin and admin.group(1, 2) == admin.group(3, 4), why
    failed = run.lines("failed: Failed to launch container: no Docker engine is reachable")
    assert len(failed) == 3 and all("REASON_CONTAINER_LAUNCH_FAILED" in f for f in failed), why
    assert run.lines("the cluster could not start the containers"), why
    assert run.lines("== teardown"), why


@no_docker
async def test_host_networking_uses_host_ports_in_the_command(
    local_cluster: LocalCluster, run_example: Runner
) -> None:
    run = await run_example(
        "docker_scheduler.py",
        "--master",
        local_cluster.url,
        "--network",
        "host",
        "--max-restarts",
        "0",
        "--json",
    )
    why = run.explain()
    assert run.returncode == 1, why
    accepts = run.lines("ACCEPT launches")
    assert len(accepts) == 3 and all("network HOST, port mappings [none]" in a for a in accepts), why
    # The full ACCEPT, as JSON: the container runs the server on the host port $PORT0.
    start = run.stdout.index("ACCEPT call:\n") + len("ACCEPT call:\n")
    end = run.stdout.index("\n}\n", start) + 2
    call = json.loads(run.stdout[start:end])
    assert call["type"] == "ACCEPT"
    task = call["accept"]["operations"][0]["launch"]["task_infos"][0]
    docker = task["container"]["docker"]
    assert (docker["image"], docker["network"]) == ("python:3.12-alpine", "HOST")
    assert "port_mappings" not in docker
    assert "$PORT0" in task["command"]["value"]
    assert len(run.lines("no Docker engine is reachable")) >= 3, why
