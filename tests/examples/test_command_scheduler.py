"""The main job: ``scripts/demo``'s command, end to end on the local cluster it starts."""

from __future__ import annotations

import re

from tests.examples.conftest import Runner

DEMO = ("mesos_framework", "run", "examples/command_scheduler.py", "--master", "local")


async def test_demo_command_runs_the_whole_story(run_example: Runner) -> None:
    run = await run_example(*DEMO, module=True, timeout=150)
    why = run.explain()
    assert run.returncode == 0, why
    assert "local cluster: http://127.0.0.1:" in run.stderr, why
    assert run.lines("TASK", "STATE", "AGENT", "PORTS", "TASK ID"), why

    # Three sleep tasks come up, each with an agent and a port.
    for serial in (1, 2, 3):
        running = run.lines(f"sleep-{serial} ", "RUNNING")
        assert running, why
        assert re.search(r"RUNNING\s+localhost/S\d+\s+3\d{4}\s+…\w{8}$", running[0]), why
    first = run.stdout.index("== rolling restart")

    # The rolling restart replaces each instance: new task RUNNING, then the old one KILLED.
    restart = run.stdout[first : run.stdout.index("== scaling sleep up")]
    for serial in (1, 2, 3):
        started = restart.index(f"sleep-{serial}        RUNNING")
        killed = restart.index(f"sleep-{serial}        KILLED")
        assert started < killed, why
    assert "Traceback" not in run.stdout + run.stderr, why

    # Scale up to five, then down to two: sleep-3..5 are killed, sleep-1 and -2 stay.
    up = run.stdout[run.stdout.index("== scaling sleep up to 5") : run.stdout.index("== scaling sleep down")]
    assert re.search(r"sleep-4\s+RUNNING", up) and re.search(r"sleep-5\s+RUNNING", up), why
    down = run.stdout[run.stdout.index("== scaling sleep down to 2") : run.stdout.index("== teardown")]
    for serial in (3, 4, 5):
        assert re.search(rf"sleep-{serial}\s+KILLED", down), why
    table = down[down.index("scaled down (2 tasks)") :]
    assert re.search(r"sleep-1\s+RUNNING", table) and re.search(r"sleep-2\s+RUNNING", table), why

    # Teardown, confirmed by the master, and a clean exit.
    assert re.search(r"master: framework \S+ completed; \d+ task\(s\) ended, none active", run.stdout), why
    assert run.stdout.rstrip().endswith("done (exit status 0)"), why


async def test_in_process_local_cluster(run_example: Runner) -> None:
    # Without `run`: master="local" makes the Scheduler start (and stop) a cluster of its own.
    run = await run_example(
        "command_scheduler.py",
        *("--instances", "1", "--scale-up", "2", "--scale-down", "1"),
        env={"MESOS_MASTER": "local"},
        timeout=120,
    )
    why = run.explain()
    assert run.returncode == 0, why
    assert re.search(r"sleep-2\s+RUNNING", run.stdout) and re.search(r"sleep-2\s+KILLED", run.stdout), why
    assert run.lines("the in-process local cluster stopped with the scheduler"), why
    assert run.stdout.rstrip().endswith("done (exit status 0)"), why
