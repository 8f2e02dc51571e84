"""Placement constraints: parsing, attribute rendering, and each operator in offer matching."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesos_framework.errors import ConfigurationError
from mesos_framework.protocol._schema import mesos_pb2
from mesos_framework.tasks import Constraint, PendingQueue, TaskSpec, match_offers
from mesos_framework.tasks.constraints import ConstraintTracker, attribute_value, offer_values
from tests.unit.tasks.offers_factory import make_offer

CMD = {"value": "sleep 100", "shell": True}


def spec(name: str = "web", constraints: Any = None, **over: Any) -> TaskSpec:
    base: dict[str, Any] = {"instances": 1, "commandInfo": CMD, "resources": {"cpus": 0.1, "mem": 16}}
    if constraints is not None:
        base["constraints"] = constraints
    base.update(over)
    return TaskSpec.from_dict(name, base)


def queue(*specs: TaskSpec) -> PendingQueue:
    q = PendingQueue(specs)
    for s in specs:
        for serial in range(1, s.instances + 1):
            q.push(s.name, serial)
    return q


def text_attr(name: str, value: str) -> mesos_pb2.Attribute:
    attr = mesos_pb2.Attribute(name=name, type=mesos_pb2.Value.TEXT)
    attr.text.value = value
    return attr


def agent_offer(index: int, **attributes: str) -> mesos_pb2.Offer:
    """A big offer from agent ``a<index>`` on host ``host<index>`` with TEXT attributes."""
    offer = make_offer(f"o{index}", agent=f"a{index}", hostname=f"host{index}", ip=f"10.0.0.{index}")
    offer.attributes.extend(text_attr(k, v) for k, v in attributes.items())
    return offer


def placements(result: Any, key: str = "hostname") -> Counter[str]:
    """Instances launched per value of ``key`` (from each launch's offer)."""
    return Counter(offer_values(launch.offer).get(key, "") for launch in result.all_launches())


# ------------------------------------------------------------------------------------ parsing
def test_marathon_json_and_dict_forms_parse_alike() -> None:
    a = spec(constraints=[["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"], ["zone", "MAX_PER", 2]])
    b = spec(
        constraints=[
            {"field": "hostname", "operator": "UNIQUE"},
            {"field": "rack", "operator": "GROUP_BY", "value": "3"},
            {"field": "zone", "operator": "max_per", "value": 2},
        ]
    )
    assert a.constraints == b.constraints
    assert [c.to_list() for c in a.constraints] == [
        ["hostname", "UNIQUE"],
        ["rack", "GROUP_BY", "3"],
        ["zone", "MAX_PER", "2"],
    ]
    assert a.constraints[1].count == 3


def test_direct_construction_is_validated_too() -> None:
    base = spec()
    with pytest.raises(ConfigurationError) as err:
        TaskSpec(
            "api",
            base.resources,
            command=base.command,
            constraints=[["hostname", "NEAR"]],  # type: ignore[arg-type]
        )
    assert err.value.option == "tasks.api.constraints[0]"
    ok = TaskSpec("api", base.resources, command=base.command, constraints=(Constraint("rack", "IS", "r1"),))
    assert ok.constraints == (Constraint("rack", "IS", "r1"),)


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (["hostname", "NEAR"], "unknown operator"),
        (["hostname", "UNIQUE", "x"], "takes no value"),
        (["rack", "LIKE"], "needs a value"),
        (["rack", "UNLIKE"], "needs a value"),
        (["rack", "IS"], "needs a value"),
        (["rack", "MAX_PER"], "needs a count"),
        (["rack", "MAX_PER", "two"], "whole number"),
        (["rack", "MAX_PER", "0"], "whole number"),
        (["rack", "GROUP_BY", "1.5"], "whole number"),
        (["rack", "LIKE", "r[0-"], "regular expression"),
        (["rack"], "got 1 items"),
        (["rack", "IS", "a", "b"], "got 4 items"),
        (["", "UNIQUE"], "non-empty"),
        ([3, "UNIQUE"], "non-empty"),
        (["rack", 7], "operator must be a string"),
        ("hostname:UNIQUE", "expected [field"),
        ({"field": "rack"}, "field and an operator"),
        ({"field": "rack", "operator": "IS", "val": "x"}, "unknown key"),
    ],
)
def test_malformed_constraint_is_named(bad: Any, words: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        spec(constraints=[["hostname", "UNIQUE"], bad])
    assert err.value.option == "tasks.web.constraints[1]"
    assert words in str(err.value)


def test_constraints_must_be_a_list() -> None:
    with pytest.raises(ConfigurationError) as err:
        spec(constraints="hostname:UNIQUE")
    assert err.value.option == "tasks.web.constraints"


# ------------------------------------------------------------------------------------ values
def test_attribute_values_render_as_marathon_compares_them() -> None:
    scalar = mesos_pb2.Attribute(name="gen", type=mesos_pb2.Value.SCALAR)
    scalar.scalar.value = 2.50
    assert attribute_value(scalar) == "2.5"
    scalar.scalar.value = 3.0
    assert attribute_value(scalar) == "3"
    scalar.scalar.value = 0.0125  # half-even at the thousandth
    assert attribute_value(scalar) == "0.012"
    ranges = mesos_pb2.Attribute(name="span", type=mesos_pb2.Value.RANGES)
    ranges.ranges.range.add(begin=8, end=9)
    ranges.ranges.range.add(begin=1, end=5)
    assert attribute_value(ranges) == "[1-5,8-9]"
    items = mesos_pb2.Attribute(name="disks", type=mesos_pb2.Value.SET)
    items.set.item.extend(["ssd", "hdd"])
    assert attribute_value(items) == "{hdd,ssd}"
    assert attribute_value(text_attr("rack", "r1")) == "r1"
    offer = agent_offer(1, rack="r1")
    offer.attributes.append(scalar)
    assert offer_values(offer) == {"rack": "r1", "gen": "0.012", "hostname": "host1", "@hostname": "host1"}
    offer.domain.fault_domain.region.name = "eu"
    offer.domain.fault_domain.zone.name = "eu-a"
    assert offer_values(offer)["@region"] == "eu"
    assert offer_values(offer)["@zone"] == "eu-a"


def test_fault_domain_fields() -> None:
    offers = []
    for i, zone in enumerate(["a", "a", "b"], 1):
        offer = agent_offer(i)
        offer.domain.fault_domain.region.name = "eu"
        offer.domain.fault_domain.zone.name = zone
        offers.append(offer)
    s = spec(instances=4, constraints=[["@zone", "MAX_PER", "2"], ["@region", "IS", "eu"]])
    result = match_offers(offers, queue(s), framework_name="fw")
    assert placements(result, "@zone") == {"a": 2, "b": 2}
    other = spec(instances=1, constraints=[["@region", "IS", "us"]])
    assert match_offers(offers, queue(other), framework_name="fw").all_launches() == []


def test_is_matches_a_scalar_attribute_by_its_rendering() -> None:
    offer = agent_offer(1)
    gen = offer.attributes.add(name="gen", type=mesos_pb2.Value.SCALAR)
    gen.scalar.value = 2.0
    result = match_offers([offer], queue(spec(constraints=[["gen", "IS", "2"]])), framework_name="fw")
    assert len(result.all_launches()) == 1


# ------------------------------------------------------------------------------------ operators
def test_unique_hostname_one_per_host_across_offers_of_one_round() -> None:
    s = spec(instances=5, constraints=[["hostname", "UNIQUE"]])
    offers = [agent_offer(1), agent_offer(2), agent_offer(3)]
    offers.append(make_offer("o1b", agent="a1", hostname="host1"))  # a second offer from host1
    q = queue(s)
    result = match_offers(offers, q, framework_name="fw")
    assert placements(result) == {"host1": 1, "host2": 1, "host3": 1}
    assert len(q) == 2  # the rest wait for more hosts
    assert [o.id.value for o in result.unused] == ["o1b"]


def test_unique_counts_tasks_placed_before_the_round() -> None:
    s = spec(instances=2, constraints=[["hostname", "UNIQUE"]])
    offers = [agent_offer(1), agent_offer(2)]
    result = match_offers(offers, queue(s), framework_name="fw", placed={"web": [{"hostname": "host1"}]})
    assert placements(result) == {"host2": 1}


def test_unique_attribute_and_agents_without_it() -> None:
    s = spec(instances=4, constraints=[["rack", "UNIQUE"]])
    offers = [agent_offer(1, rack="r1"), agent_offer(2, rack="r1"), agent_offer(3, rack="r2"), agent_offer(4)]
    result = match_offers(offers, queue(s), framework_name="fw")
    assert placements(result, "rack") == {"r1": 1, "r2": 1}
    assert "host4" not in placements(result)


def test_cluster_with_a_value() -> None:
    s = spec(instances=4, constraints=[["rack", "CLUSTER", "r2"]])
    offers = [agent_offer(1, rack="r1"), agent_offer(2, rack="r2"), agent_offer(3, rack="r2")]
    result = match_offers(offers, queue(s), framework_name="fw")
    assert placements(result, "rack") == {"r2": 4}


def test_cluster_without_a_value_follows_the_first_instance() -> None:
    s = spec(instances=3, constraints=[["hostname", "CLUSTER"]])
    offers = [agent_offer(1), agent_offer(2)]
    result = match_offers(offers, queue(s), framework_name="fw", placed={"web": [{"hostname": "host2"}]})
    assert placements(result) == {"host2": 3}


def test_group_by_without_a_count_knows_only_the_values_in_use() -> None:
    # As in Marathon: with no count, a lone rack is "all the groups there are", so it takes all.
    s = spec(instances=3, constraints=[["rack", "GROUP_BY"]])
    result = match_offers([agent_offer(1, rack="a")], queue(s), framework_name="fw")
    assert placements(result, "rack") == {"a": 3}


def test_group_by_count_waits_for_enough_groups_then_spreads() -> None:
    s = spec(instances=8, constraints=[["rack", "GROUP_BY", "3"]])
    q = queue(s)
    # Only two racks: one instance each; a second on either would precede a third rack.
    round1 = [agent_offer(1, rack="a"), agent_offer(2, rack="a"), agent_offer(3, rack="b")]
    result = match_offers(round1, q, framework_name="fw")
    assert placements(result, "rack") == {"a": 1, "b": 1}
    assert len(q) == 6
    # A third rack appears; in one round (several offers per rack) the spread stays within one.
    placed = [{"rack": "a"}, {"rack": "b"}]
    round2 = [
        agent_offer(1, rack="a"),
        agent_offer(4, rack="c"),
        agent_offer(2, rack="a"),
        agent_offer(3, rack="b"),
        agent_offer(5, rack="c"),
    ]
    result = match_offers(round2, q, framework_name="fw", placed={"web": placed})
    total = placements(result, "rack") + Counter(p["rack"] for p in placed)
    assert sum(total.values()) == 8
    assert max(total.values()) - min(total.values()) <= 1
    assert len(q) == 0


def test_group_by_puts_the_next_instance_in_a_smallest_group() -> None:
    s = spec(instances=1, constraints=[["rack", "GROUP_BY", "2"]])
    before = [{"rack": "a"}, {"rack": "a"}, {"rack": "b"}]
    offers = [agent_offer(1, rack="a"), agent_offer(2, rack="b")]
    result = match_offers(offers, queue(s), framework_name="fw", placed={"web": before})
    assert placements(result, "rack") == {"b": 1}


def test_like_and_unlike_match_the_whole_value() -> None:
    offers = [
        agent_offer(1, rack="r1"),
        agent_offer(2, rack="r12"),
        agent_offer(3, rack="x1"),
        agent_offer(4),
    ]

    def hosts(*constraint: str) -> set[str]:
        s = spec(instances=9, constraints=[["hostname", "MAX_PER", "1"], list(constraint)])
        return set(placements(match_offers(offers, queue(s), framework_name="fw")))

    assert hosts("rack", "LIKE", "r[0-9]") == {"host1"}  # r12 is no full match; host4 has no rack
    assert hosts("rack", "UNLIKE", "r[0-9]") == {"host2", "host3", "host4"}
    assert hosts("hostname", "LIKE", "host[23]") == {"host2", "host3"}
    assert hosts("hostname", "UNLIKE", "host[23]") == {"host1", "host4"}


def test_max_per_caps_each_value_within_and_across_rounds() -> None:
    s = spec(instances=7, constraints=[["rack", "MAX_PER", "2"]])
    offers = [agent_offer(1, rack="a"), agent_offer(2, rack="a"), agent_offer(3, rack="b")]
    result = match_offers(offers, queue(s), framework_name="fw", placed={"web": [{"rack": "b"}]})
    assert placements(result, "rack") == {"a": 2, "b": 1}


def test_is_requires_the_exact_value() -> None:
    s = spec(instances=3, constraints=[["rack", "IS", "r1"]])
    offers = [agent_offer(1, rack="r10"), agent_offer(2, rack="r1"), agent_offer(3)]
    result = match_offers(offers, queue(s), framework_name="fw")
    assert placements(result) == {"host2": 3}


def test_several_constraints_all_apply_and_types_are_independent() -> None:
    constrained = spec("db", instances=4, constraints=[["hostname", "UNIQUE"], ["rack", "IS", "r1"]])
    free = spec("web", instances=3)
    offers = [agent_offer(1, rack="r1"), agent_offer(2, rack="r1"), agent_offer(3, rack="r2")]
    result = match_offers(offers, queue(constrained, free), framework_name="fw")
    db = Counter(launch.offer.hostname for launch in result.all_launches() if launch.spec.name == "db")
    assert db == {"host1": 1, "host2": 1}
    assert sum(1 for launch in result.all_launches() if launch.spec.name == "web") == 3


def test_unknown_agent_values_count_only_where_known() -> None:
    tracker = ConstraintTracker.of(
        spec(constraints=[["rack", "MAX_PER", "1"]]).constraints, [None, {"rack": "a"}]
    )
    assert not tracker.allows({"rack": "a", "hostname": "h"})
    assert tracker.allows({"rack": "b", "hostname": "h"})


@settings(max_examples=60, deadline=None)
@given(
    racks=st.lists(st.sampled_from(["a", "b", "c", ""]), min_size=1, max_size=8),
    before=st.lists(st.sampled_from(["a", "b", "c"]), max_size=6),
    limit=st.integers(min_value=1, max_value=3),
    instances=st.integers(min_value=1, max_value=12),
)
def test_max_per_and_unique_hold_for_any_offers(
    racks: list[str], before: list[str], limit: int, instances: int
) -> None:
    offers = [agent_offer(i, **({"rack": r} if r else {})) for i, r in enumerate(racks, 1)]
    placed = {"web": [{"rack": r, "hostname": f"old{i}"} for i, r in enumerate(before)]}
    s = spec(instances=instances, constraints=[["rack", "MAX_PER", str(limit)], ["hostname", "UNIQUE"]])
    q = queue(s)
    result = match_offers(offers, q, framework_name="fw", placed=placed)
    per_rack = placements(result, "rack") + Counter(before)
    assert all(n <= max(limit, Counter(before)[r]) for r, n in per_rack.items())
    assert all(n == 1 for n in placements(result).values())
    assert "" not in placements(result, "rack")  # agents without the attribute take none
    # Nothing was left waiting that an offer could have taken.
    if len(q):
        for rack in {r for r in racks if r}:
            used = per_rack[rack]
            free_hosts = sum(1 for r in racks if r == rack) - placements(result, "rack")[rack]
            assert used >= limit or free_hosts == 0
