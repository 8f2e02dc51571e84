"""The operator clients cover every call of the schema, and the guide names them all."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from mesos_framework.operator import AgentOperator, MasterOperator
from mesos_framework.protocol import mesos

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "operator.md").read_text()


@pytest.mark.parametrize(
    ("client", "call"),
    [(MasterOperator, mesos.master.Call), (AgentOperator, mesos.agent.Call)],
    ids=["master", "agent"],
)
def test_a_method_for_every_call_type(client: type, call: type) -> None:
    types = [
        value.name for value in call.DESCRIPTOR.enum_types_by_name["Type"].values if value.name != "UNKNOWN"
    ]
    methods = {name for name, _ in inspect.getmembers(client, inspect.isfunction) if not name.startswith("_")}
    missing = [t for t in types if t.lower() not in methods]
    assert not missing, f"{client.__name__} lacks {missing}"
    undocumented = [t for t in types if t not in GUIDE]
    assert not undocumented, f"docs/operator.md does not name {undocumented}"
