"""The admin API and Prometheus metrics of a Scheduler running tasks on the local cluster."""

from __future__ import annotations

import math
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mesos_framework.admin import AdminServer, SchedulerMetrics
from mesos_framework.local import LocalCluster
from mesos_framework.scheduler import Scheduler
from tests.integration.scheduler_helpers import Recorder, cmd, running, until

FAST = {"status_update_retry": 0.5, "allocation_interval": 0.2}
pytestmark = pytest.mark.local_cluster(**FAST)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def make(cluster: LocalCluster, **options: Any) -> Scheduler:
    base: dict[str, Any] = {
        "master": cluster.url,
        "framework_name": "admin-it",
        "restart_backoff_minimum": 0.1,
        "restart_backoff_maximum": 0.5,
        "exponential_backoff_minimum": 0.1,
        "exponential_backoff_maximum": 0.5,
        "tasks": {"web": {**cmd(), "instances": 2, "allow_scaling": True}, "db": cmd()},
    }
    base.update(options)
    return Scheduler(**base)


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[f"mesos_framework_{name}", frozenset(labels.items())]


async def get(http: aiohttp.ClientSession, url: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.text()


async def post(
    http: aiohttp.ClientSession, url: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(url, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


def guarded_routes(admin: AdminServer) -> list[tuple[str, str]]:
    """(method, path template) of every route the running server has but /health and /ready."""
    assert admin._runner is not None
    found = [
        (route.method, route.resource.canonical)
        for route in admin._runner.app.router.routes()
        if route.resource is not None
    ]
    return [(m, p) for m, p in found if p not in ("/health", "/ready")]


def web_ids(s: Scheduler) -> dict[str, str]:
    return {r.name: r.task_id for r in s.task_records("web") if not r.state.is_terminal}


async def test_metrics_scraped_while_tasks_run(local_cluster: LocalCluster) -> None:
    s = make(local_cluster)
    rec = Recorder(s)
    async with AdminServer(s) as admin, aiohttp.ClientSession() as http, s:
        assert admin.host == "127.0.0.1" and admin.port > 0
        await until(lambda: len(running(s)) == 3, what="3 running tasks")
        await until(rec.all_acked, what="every update acknowledged")
        await s.sync()
        await until(lambda: rec.counts["sent_reconcile"] >= 1, what="a RECONCILE sent")
        status, text = await get(http, f"{admin.url}/metrics")
        assert status == 200
        m = parse(text)
        assert value(m, "offers_received_total") >= 1
        assert value(m, "offers_used_total") >= 1
        assert value(m, "task_launches_total") == 3 == len(rec.launched_ids)
        assert value(m, "status_updates_total", state="TASK_RUNNING") >= 3
        acks = value(m, "acknowledgements_total")
        assert acks == len(rec.acks) and acks >= 3
        assert value(m, "acknowledgement_delay_seconds_count") >= 3
        assert value(m, "acknowledgement_delay_seconds_sum") >= 0
        assert value(m, "subscriptions_total") == 1
        assert value(m, "resubscriptions_total") == 0
        assert value(m, "reconciliation_rounds_total") == rec.counts["sent_reconcile"] >= 1
        assert value(m, "tasks", type="web", state="TASK_RUNNING") == 2
        assert value(m, "tasks", type="db", state="TASK_RUNNING") == 1
        assert value(m, "desired_instances", type="web") == 2
        assert value(m, "pending_instances", type="web") == 0
        assert value(m, "leader") == 1
        assert value(m, "subscribed") == 1
        lag = value(m, "heartbeat_lag_seconds")
        assert not math.isnan(lag) and lag >= 0
        assert value(m, "heartbeat_interval_seconds") > 0

        # The counters follow the events: a restart is one more launch and one kill.
        old = web_ids(s)["web-1"]
        await s.restart_task("web-1")
        await until(lambda: web_ids(s).get("web-1") not in (None, old) and len(running(s)) == 3)
        m = parse((await get(http, f"{admin.url}/metrics"))[1])
        assert value(m, "task_launches_total") == 4
        assert value(m, "task_kills_total") == 1
        assert value(m, "status_updates_total", state="TASK_KILLED") >= 1

        # A lost subscription: one disconnection, one resubscription.
        assert s.framework_id is not None
        assert local_cluster.drop_framework_stream(s.framework_id)
        await until(lambda: rec.counts["subscribed"] == 2 and s.connected, what="resubscribed")
        m = parse((await get(http, f"{admin.url}/metrics"))[1])
        assert value(m, "subscriptions_total") == 2
        assert value(m, "resubscriptions_total") == 1
        assert value(m, "disconnections_total") == rec.counts["disconnected"] == 1
        assert value(m, "subscribed") == 1
    # Detached on stop: only the Recorder's listeners are left.
    assert s._events.listener_count("sent_accept") == 2
    assert s._events.listener_count("offers") == 1 and s._events.listener_count("closed") == 0


async def test_decline_and_registries_per_scheduler(local_cluster: LocalCluster) -> None:
    # A scheduler whose task fits no offer declines them; two metric sets on one scheduler live
    # in registries of their own (no clash over names).
    s = make(local_cluster, tasks={"huge": cmd(mem=10**7)}, refuse_seconds=0.2)
    first, second = SchedulerMetrics(s), SchedulerMetrics(s)
    rec = Recorder(s)
    async with s:
        await until(lambda: rec.counts["sent_decline"] >= 1, what="a DECLINE")
        for metrics in (first, second):
            m = parse(metrics.render().decode())
            assert value(m, "offers_declined_total") >= 1
            assert value(m, "offers_received_total") >= value(m, "offers_declined_total")
            assert value(m, "task_launches_total") == 0
    first.close()
    second.close()


async def test_admin_endpoints_drive_the_scheduler(local_cluster: LocalCluster) -> None:
    s = make(local_cluster)
    rec = Recorder(s)
    async with AdminServer(s, port=0) as admin, aiohttp.ClientSession() as http:
        url = admin.url
        assert (await get(http, f"{url}/health")) == (200, {"status": "ok"})
        status, body = await get(http, f"{url}/ready")
        assert status == 503 and body["ready"] is False  # not started yet
        async with s:
            await until(lambda: len(running(s)) == 3, what="3 running tasks")
            status, body = await get(http, f"{url}/ready")
            assert status == 200 and body["ready"] is True and body["leader"] is True
            assert body["framework_id"] == s.framework_id

            status, body = await get(http, f"{url}/tasks")
            assert status == 200
            assert sorted(t["name"] for t in body["tasks"]) == ["db-1", "web-1", "web-2"]
            assert {t["state"] for t in body["tasks"]} == {"TASK_RUNNING"}
            assert body["types"] == {"web": {"instances": 2}, "db": {"instances": 1}}
            assert body["framework_id"] == s.framework_id
            # A property JSON has no type for is shown as its str().
            s.task_records("db")[0].properties["checked"] = frozenset({"ok"})
            status, body = await get(http, f"{url}/tasks?type=db")
            assert [t["name"] for t in body["tasks"]] == ["db-1"] and list(body["types"]) == ["db"]
            assert body["tasks"][0]["properties"] == {"checked": "frozenset({'ok'})"}
            assert (await get(http, f"{url}/tasks?type=nope"))[0] == 404

            # Scale: up, and the errors (bad body, unknown type, a type that does not scale).
            assert await post(http, f"{url}/tasks/types/web/scale", {"instances": 3}) == (
                200,
                {"type": "web", "instances": 3},
            )
            await until(lambda: running(s, "web") == ["web-1", "web-2", "web-3"], what="web scaled to 3")
            # The JavaScript boilerplate's form, and its type listing.
            async with http.put(f"{url}/tasks/types/web/scale/4") as resp:
                assert resp.status == 200 and await resp.json() == {"type": "web", "instances": 4}
            await until(lambda: len(running(s, "web")) == 4, what="web scaled to 4")
            assert (await get(http, f"{url}/tasks/types")) == (
                200,
                [
                    {"type": "web", "instances": 4, "running": 4, "allow_scaling": True},
                    {"type": "db", "instances": 1, "running": 1, "allow_scaling": False},
                ],
            )
            async with http.put(f"{url}/tasks/types/web/scale/many") as resp:
                assert resp.status == 400
            assert (await post(http, f"{url}/tasks/types/web/scale", {"instances": 3}))[0] == 200
            await until(lambda: running(s, "web") == ["web-1", "web-2", "web-3"], what="web back to 3")
            for bad in ({"instances": -1}, {"instances": "2"}, {}, [3]):
                status, body = await post(http, f"{url}/tasks/types/web/scale", bad)
                assert status == 400 and "error" in body
            assert (await post(http, f"{url}/tasks/types/nope/scale", {"instances": 1}))[0] == 404
            assert (await post(http, f"{url}/tasks/types/db/scale", {"instances": 2}))[0] == 409
            assert s.instances("web") == 3 and s.instances("db") == 1

            # Restart one task.
            old = web_ids(s)["web-2"]
            assert await post(http, f"{url}/tasks/web-2/restart") == (200, {"restarted": "web-2"})
            await until(lambda: web_ids(s).get("web-2") not in (None, old), what="web-2 relaunched")
            assert (await post(http, f"{url}/tasks/web-9/restart"))[0] == 404

            # Rolling restart of a type: every instance replaced, reported in /tasks.
            await until(lambda: len(running(s, "web")) == 3)
            before = web_ids(s)
            status, body = await post(http, f"{url}/tasks/types/web/rolling-restart", {"timeout": 120})
            assert (status, body) == (202, {"type": "web", "status": "running"})
            assert (await post(http, f"{url}/tasks/types/nope/rolling-restart"))[0] == 404
            assert (await post(http, f"{url}/tasks/types/web/rolling-restart", {"timeout": 0}))[0] == 400

            async def rolled() -> str:
                return str((await get(http, f"{url}/tasks"))[1]["rolling_restarts"].get("web"))

            await until(lambda: admin.rolling.get("web") != "running", timeout=120, what="rolling restart")
            assert await rolled() == "done"
            after = web_ids(s)
            assert sorted(after) == sorted(before) == ["web-1", "web-2", "web-3"]
            assert not set(after.values()) & set(before.values())
            assert rec.errors == []
        await until(lambda: admin._closed, what="closed seen")
        assert (await get(http, f"{url}/health"))[0] == 503
        assert (await get(http, f"{url}/ready"))[0] == 503


async def test_token_required_and_a_wrong_one_changes_nothing(
    local_cluster: LocalCluster, caplog: pytest.LogCaptureFixture
) -> None:
    s = make(local_cluster)
    rec = Recorder(s)
    token = "s3cret-token"
    async with AdminServer(s, token=token) as admin, aiohttp.ClientSession() as http, s:
        url = admin.url
        await until(lambda: len(running(s)) == 3, what="3 running tasks")
        ids = web_ids(s)
        launched = rec.counts["sent_accept"]
        # The probes stay open.
        assert (await get(http, f"{url}/health"))[0] == 200
        assert (await get(http, f"{url}/ready"))[0] == 200
        # Every other route, read from the server's router (a new one cannot be forgotten here).
        routes = guarded_routes(admin)
        assert {
            ("GET", "/metrics"),
            ("GET", "/tasks"),
            ("GET", "/tasks/types"),
            ("POST", "/tasks/types/{type}/scale"),
            ("PUT", "/tasks/types/{type}/scale/{instances}"),
            ("POST", "/tasks/types/{type}/rolling-restart"),
            ("POST", "/tasks/{task}/restart"),
        } <= set(routes)
        for wrong in (None, "wrong", token + "x", ""):
            auth = {"Authorization": f"Bearer {wrong}"} if wrong else {}
            for method, path in routes:
                target = url + path.format(type="web", task="web-1", instances=5)
                async with http.request(method, target, json={"instances": 5}, headers=auth) as resp:
                    assert resp.status == 401, (method, path, wrong)
                    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        async with http.post(f"{url}/tasks/web-1/restart", headers={"Authorization": f"Basic {token}"}) as r:
            assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        # Nothing changed: no scaling, no kill, no launch, no rolling restart.
        assert s.instances("web") == 2 and not s.pending
        assert web_ids(s) == ids
        assert rec.counts["sent_kill"] == 0 and rec.counts["sent_accept"] == launched
        assert admin.rolling == {}
        assert "refused POST /tasks/types/web/scale" in caplog.text

        # The right token works, and the write is logged.
        caplog.clear()
        with caplog.at_level("INFO", logger="mesos_framework.admin"):
            assert (await get(http, f"{url}/tasks", token))[0] == 200
            assert (await get(http, f"{url}/metrics", token))[0] == 200
            assert (await post(http, f"{url}/tasks/types/web/scale", {"instances": 1}, token))[0] == 200
        await until(lambda: running(s, "web") == ["web-1"], what="web scaled down to 1")
        assert "admin: scale web from 127.0.0.1 (200)" in caplog.text
