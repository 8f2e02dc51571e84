"""`SchedulerMetrics`: Prometheus metrics of one `Scheduler`, gathered from its public events.

Counters follow the scheduler's events (`offers`, `update`, `subscribed`, `sent_<call>`...);
gauges that describe the present (tasks by type and state, heartbeat lag, subscription) are
read from the scheduler at each scrape. Everything lives in a registry of its own, so several
schedulers in one process never share or clash over metric names.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter as Tally
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

try:
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
    from prometheus_client.core import GaugeMetricFamily, Metric
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    raise ImportError(
        "mesos_framework.admin needs prometheus-client: pip install 'mesos-framework[metrics]'"
    ) from exc

from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2
from mesos_framework.scheduler import EventName

if TYPE_CHECKING:
    from mesos_framework.scheduler import Scheduler

__all__ = ["PREFIX", "SchedulerMetrics"]

log = logging.getLogger("mesos_framework.admin")

PREFIX = "mesos_framework"
"""What every metric name starts with (`mesos_framework_tasks`...)."""

#: Updates remembered while their acknowledgement is outstanding (for the delay histogram).
_MAX_UNACKED = 10_000


class _Present(Collector):
    """The gauges read from the scheduler at scrape time."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler

    def collect(self) -> Iterator[Metric]:
        s = self._scheduler
        tasks = GaugeMetricFamily(
            f"{PREFIX}_tasks", "Tracked tasks by type and last known state.", labels=["type", "state"]
        )
        by: Tally[tuple[str, str]] = Tally((r.type_name, r.state.name) for r in s.tasks)
        for (type_name, state), count in sorted(by.items()):
            tasks.add_metric([type_name, state], count)
        yield tasks
        pending = GaugeMetricFamily(
            f"{PREFIX}_pending_instances", "Instances waiting for an offer, by type.", labels=["type"]
        )
        waiting = Tally(type_name for type_name, _ in s.pending)
        for spec in s.options.tasks:
            pending.add_metric([spec.name], waiting.get(spec.name, 0))
        yield pending
        desired = GaugeMetricFamily(
            f"{PREFIX}_desired_instances", "Instances each task type should run.", labels=["type"]
        )
        for spec in s.options.tasks:
            desired.add_metric([spec.name], s.instances(spec.name))
        yield desired
        yield GaugeMetricFamily(
            f"{PREFIX}_subscribed", "1 while subscribed to the master.", value=1 if s.connected else 0
        )
        # Without `ha` a scheduler always leads; with it, while elected.
        yield GaugeMetricFamily(
            f"{PREFIX}_leader",
            "1 on the scheduler that leads (acts), 0 on a hot standby.",
            value=1 if s.leading else 0,
        )
        last = s.last_heartbeat
        yield GaugeMetricFamily(
            f"{PREFIX}_heartbeat_lag_seconds",
            "Seconds since the last heartbeat (or SUBSCRIBED); NaN before the first.",
            value=max(0.0, time.time() - last) if last is not None else math.nan,
        )
        interval = s.heartbeat_interval
        yield GaugeMetricFamily(
            f"{PREFIX}_heartbeat_interval_seconds",
            "The master's heartbeat interval; NaN until subscribed.",
            value=interval if interval is not None else math.nan,
        )


class SchedulerMetrics:
    """Prometheus metrics of a `Scheduler`, in a `CollectorRegistry` of their own.

    Attach before or after `start()`; `close()` detaches the listeners. `render()` gives the
    text exposition format; `registry` can be handed to any `prometheus_client` exporter.

    Args:
        scheduler: the scheduler to observe.
        registry: where to register (a new `CollectorRegistry` if not given; never the global
            default one, unless passed explicitly).
    """

    def __init__(self, scheduler: Scheduler, *, registry: CollectorRegistry | None = None) -> None:
        self.scheduler = scheduler
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.offers_received = Counter(f"{PREFIX}_offers_received", "Offers received.", registry=r)
        self.offers_used = Counter(f"{PREFIX}_offers_used", "Offers accepted (ACCEPT calls).", registry=r)
        self.offers_declined = Counter(f"{PREFIX}_offers_declined", "Offers declined.", registry=r)
        self.offers_rescinded = Counter(f"{PREFIX}_offers_rescinded", "Offers rescinded.", registry=r)
        self.launches = Counter(f"{PREFIX}_task_launches", "Tasks sent to launch.", registry=r)
        self.kills = Counter(f"{PREFIX}_task_kills", "KILL calls sent.", registry=r)
        self.updates = Counter(
            f"{PREFIX}_status_updates", "Task status updates received, by state.", ["state"], registry=r
        )
        self.acknowledgements = Counter(
            f"{PREFIX}_acknowledgements", "Status update acknowledgements sent.", registry=r
        )
        self.ack_delay = Histogram(
            f"{PREFIX}_acknowledgement_delay_seconds",
            "From receiving a status update to sending its acknowledgement.",
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.subscriptions = Counter(
            f"{PREFIX}_subscriptions", "SUBSCRIBED events (the first and every resubscription).", registry=r
        )
        self.resubscriptions = Counter(
            f"{PREFIX}_resubscriptions", "Subscriptions after the first (after a lost one).", registry=r
        )
        self.disconnections = Counter(f"{PREFIX}_disconnections", "Subscriptions lost.", registry=r)
        self.heartbeats = Counter(f"{PREFIX}_heartbeats", "Heartbeats received.", registry=r)
        self.reconciliations = Counter(
            f"{PREFIX}_reconciliation_rounds", "RECONCILE calls sent (explicit or implicit).", registry=r
        )
        self.errors = Counter(f"{PREFIX}_errors", "Errors reported by the scheduler.", registry=r)
        self._present = _Present(scheduler)
        r.register(self._present)
        self._unacked: OrderedDict[bytes, float] = OrderedDict()
        self._subscribed_before = False
        # Not through `scheduler.on("offers")`: on a scheduler without task types an `offers`
        # listener is taken for the framework's own offer logic, and an observer must not be.
        scheduler._observe_offers(self._on_offers)
        self._listeners: list[tuple[str, Callable[..., Any]]] = [
            ("rescind", lambda _: self.offers_rescinded.inc()),
            ("update", self._on_update),
            ("subscribed", self._on_subscribed),
            ("disconnected", lambda *_: self.disconnections.inc()),
            ("heartbeat", lambda *_: self.heartbeats.inc()),
            ("error", lambda *_: self.errors.inc()),
            ("sent_accept", self._on_accept),
            ("sent_decline", lambda call: self.offers_declined.inc(len(call.decline.offer_ids))),
            ("sent_kill", lambda _: self.kills.inc()),
            ("sent_acknowledge", self._on_acknowledge),
            ("sent_reconcile", lambda _: self.reconciliations.inc()),
        ]
        for name, listener in self._listeners:
            scheduler.on(EventName(name), listener)

    def close(self) -> None:
        """Stop observing the scheduler (the registry keeps the values reached)."""
        for name, listener in self._listeners:
            self.scheduler.off(name, listener)
        self._listeners = []
        self.scheduler._observe_offers(self._on_offers, attach=False)

    def render(self) -> bytes:
        """The metrics in the Prometheus text exposition format."""
        return generate_latest(self.registry)

    # ---------------------------------------------------------------- listeners
    def _on_offers(self, payload: scheduler_pb2.Event.Offers) -> None:
        self.offers_received.inc(len(payload.offers))

    def _on_update(self, payload: scheduler_pb2.Event.Update) -> None:
        status = payload.status
        self.updates.labels(mesos_pb2.TaskState.Name(status.state)).inc()
        if status.uuid:
            self._unacked[status.uuid] = time.monotonic()
            if len(self._unacked) > _MAX_UNACKED:
                self._unacked.popitem(last=False)

    def _on_subscribed(self, _payload: scheduler_pb2.Event.Subscribed) -> None:
        if self._subscribed_before:
            self.resubscriptions.inc()
        self._subscribed_before = True
        self.subscriptions.inc()

    def _on_accept(self, call: scheduler_pb2.Call) -> None:
        accept = call.accept
        self.offers_used.inc(len(accept.offer_ids))
        for op in accept.operations:
            if op.type == mesos_pb2.Offer.Operation.LAUNCH:
                self.launches.inc(len(op.launch.task_infos))
            elif op.type == mesos_pb2.Offer.Operation.LAUNCH_GROUP:
                self.launches.inc(len(op.launch_group.task_group.tasks))

    def _on_acknowledge(self, call: scheduler_pb2.Call) -> None:
        self.acknowledgements.inc()
        received = self._unacked.pop(call.acknowledge.uuid, None)
        if received is not None:
            self.ack_delay.observe(time.monotonic() - received)
