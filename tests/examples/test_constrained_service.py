"""The constrained service: placement by hostname and rack on its own three-agent local cluster."""

from __future__ import annotations

from tests.examples.conftest import Runner


async def test_constraints_place_and_hold_instances(run_example: Runner) -> None:
    run = await run_example("constrained_service.py", "--master", "local", "--settle", "2", timeout=120)
    why = run.explain()
    assert run.returncode == 0, why
    assert run.lines("web on: agent-1=1 agent-2=1 agent-3=1"), why
    assert run.lines("cache per rack: r1=2 r2=2"), why
    assert run.lines("db on: agent-1=1 agent-2=1"), why
    assert run.lines("waiting for an agent that fits: db-3"), why
    # Scaled past the number of agents, the fourth web instance has nowhere to go.
    assert run.lines("waiting for an agent that fits: db-3 web-4"), why
    assert len(run.lines("web on: agent-1=1 agent-2=1 agent-3=1")) == 2, why
    assert run.lines("done (exit status 0)"), why
