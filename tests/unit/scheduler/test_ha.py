"""Hot-standby HA without ZooKeeper: the `ha` option, the fence, the admin option and the offers gap."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from mesos_framework.admin import SchedulerMetrics
from mesos_framework.errors import CallWhileDisconnected, ConfigurationError, NotLeader
from mesos_framework.protocol import mesos
from mesos_framework.scheduler import EVENTS, HighAvailability, Scheduler, Session, calls
from mesos_framework.scheduler._ha import ENV_HA, HA_EVENTS, Elector

STORE = {"use_zk": True, "zk_url": "127.0.0.1:1"}


def test_ha_from_a_url() -> None:
    ha = HighAvailability.from_url("zk://u:p@zk1:2181,zk2:2181/shop/leader?session_timeout=4")
    assert ha == HighAvailability("zk1:2181,zk2:2181", "/shop/leader", session_timeout=4.0, auth="u:p")
    s = Scheduler(master="m:5050", framework_name="shop", ha="zk://zk1:2181/shop/leader", **STORE)
    assert s.options.ha == HighAvailability("zk1:2181", "/shop/leader")
    assert not s.leading  # a replica leads only once elected
    assert Scheduler(master="m:5050", framework_name="shop").leading  # without ha: always


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://zk1:2181/x", "zk://"),
        ("zk://zk1:2181", "path other than '/'"),
        ("zk://zk1:2181/", "path other than '/'"),
        ("zk:///x", "no ZooKeeper hosts"),
        ("zk://zk1:99999/x", "bad ZooKeeper host"),
        ("zk://zk1:2181/x?session=3", "unknown parameter"),
        ("zk://zk1:2181/x?session_timeout=soon", "session_timeout"),
        ("zk://zk1:2181/x?session_timeout=0.1", "from 1 to 600"),
        ("zk://user@zk1:2181/x", "user:password"),
        (42, "HighAvailability"),
    ],
)
def test_a_bad_ha_option_names_the_option(value: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        Scheduler(master="m:5050", framework_name="shop", ha=value, **STORE)
    assert info.value.option is not None and info.value.option.startswith("ha")


@pytest.mark.parametrize(
    "url",
    [
        "zk://zkuser:pw-value@zk1:99999/x",
        "zk://zkuser:pw-value@/x",
        "zk://zkuser:pw-value@zk1:2181",
        "http://zkuser:pw-value@zk1:2181/x",
    ],
)
def test_a_bad_ha_url_does_not_show_its_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        HighAvailability.from_url(url)
    assert "pw-value" not in str(info.value)
    assert "zkuser:***@" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"master": "local", **STORE}, "share a master"),
        ({}, "state_store"),
        ({"state_store": "memory"}, "not shared"),
    ],
)
def test_ha_needs_a_shared_master_and_store(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Scheduler(**{"master": "m:5050", "framework_name": "shop", "ha": "zk://zk:2181/x", **kwargs})


def test_ha_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # What `mesos-framework run --ha` sets; an explicit ha=None wins.
    monkeypatch.setenv(ENV_HA, "zk://zk1:2181/shop/leader")
    assert Scheduler(master="m:5050", framework_name="shop", **STORE).options.ha is not None
    assert Scheduler(master="m:5050", framework_name="shop", ha=None, **STORE).options.ha is None
    monkeypatch.setenv(ENV_HA, "zk://zk1:2181")
    with pytest.raises(ConfigurationError) as info:
        Scheduler(master="m:5050", framework_name="shop", **STORE)
    assert info.value.option == ENV_HA


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"admin_port": -1}, "admin_port"),
        ({"admin_port": "80"}, "admin_port"),
        ({"admin_port": True}, "admin_port"),
        ({"admin_port": 0, "admin_host": ""}, "admin_host"),
        ({"admin_port": 0, "admin_token": ""}, "admin_token"),
        ({"admin_token": "t"}, "admin_port"),
    ],
)
def test_bad_admin_options(kwargs: dict[str, Any], option: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Scheduler(master="m:5050", **kwargs)
    assert info.value.option == option


async def test_a_fenced_session_refuses_calls_and_sends_nothing() -> None:
    # A leader whose ZooKeeper connection is lost (kazoo reports SUSPENDED on its own thread):
    # from that moment the session refuses every call with NotLeader, before any network use.
    elector = Elector(HighAvailability("127.0.0.1:1", "/fence/leader"))
    session = Session("127.0.0.1:1", mesos.FrameworkInfo(user="u", name="n"), framework_id="fw")
    session.guard = elector.check
    session._connected.set()  # subscribed, as far as the session knows
    elector.leading, elector.node = True, "/fence/leader/n-0000000001"

    # While leading, the guard lets the call through: it reaches the network (nothing listens).
    with pytest.raises(Exception) as info:
        await session.send(calls.revive(), wait=False)
    assert not isinstance(info.value, NotLeader)

    thread = threading.Thread(target=elector._state_changed, args=("SUSPENDED",))
    thread.start()
    thread.join()
    assert not elector.leading  # at once, on kazoo's thread: before the loop ran anything
    sent: list[Any] = []
    session.on("sent_revive", sent.append)
    for call in (calls.revive(), calls.kill("t1", "a1"), calls.reconcile([])):
        with pytest.raises(NotLeader):
            await session.send(call, wait=False)
    with pytest.raises(CallWhileDisconnected):  # NotLeader is one: existing handlers cope
        await session.send(calls.suppress(), wait=False)
    await asyncio.wait_for(elector.lost.wait(), 5)  # the term ends on the loop
    assert sent == []
    # Acknowledgements are dropped too (Mesos resends the updates to the next leader).
    status = mesos.TaskStatus(uuid=b"u", state=mesos.TASK_RUNNING)
    status.task_id.value, status.agent_id.value = "t1", "a1"
    await session._acknowledge_many([status])
    # An expired session (LOST) fences the same way; a reconnection does not un-fence.
    elector._state_changed("CONNECTED")
    assert not elector.leading
    await session.close()


def test_metrics_do_not_count_as_the_frameworks_offer_logic() -> None:
    # A scheduler without task types: an `offers` listener is the framework's own offer logic
    # (offers are then never suppressed). The metrics' listener must not count as one: once
    # the user removes theirs, the scheduler handles offers again.
    s = Scheduler(master="127.0.0.1:1", framework_name="unit")
    metrics = SchedulerMetrics(s)
    assert not s._fleet.offers_wanted_elsewhere

    def mine(_offers: Any) -> None:
        pass

    s.on("offers", mine)
    assert s._fleet.offers_wanted_elsewhere
    s.off("offers", mine)
    assert not s._fleet.offers_wanted_elsewhere
    metrics.close()
    assert s._events.listener_count("offers") == 0


async def test_a_replica_that_cannot_reach_zookeeper_waits_and_stops_promptly() -> None:
    # No ZooKeeper: the replica never leads, never subscribes, and stop() does not wait for kazoo.
    s = Scheduler(
        master="127.0.0.1:1",
        framework_name="unit",
        framework_id="fw-1",
        ha=HighAvailability("127.0.0.1:1", "/unit/leader"),
    )
    elected: list[str] = []
    s.on("leader_elected", elected.append)
    await s.start()
    await asyncio.sleep(0.5)
    assert not s.leading and not s.connected and s.session is None
    await asyncio.wait_for(s.stop(), 20)
    assert elected == []


def test_the_leadership_events_are_scheduler_events() -> None:
    assert HA_EVENTS <= EVENTS
