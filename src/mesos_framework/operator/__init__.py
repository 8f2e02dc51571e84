"""Clients of the Mesos v1 operator APIs.

* `MasterOperator` — every call of a master's ``/api/v1`` (state,
  agents, frameworks, tasks, flags, metrics, files, weights, quota,
  maintenance, reservations and volumes, agent draining, teardown) and its
  ``SUBSCRIBE`` event stream (`MasterEvents`, reconnecting).
* `AgentOperator` — every call of an agent's ``/api/v1`` (state,
  containers, files, container launch/wait/kill and process I/O).

Both speak protobuf (the default) or JSON and reuse the transport's leader
detection (``host:port``, host lists, URLs, ``zk://``), TLS and credentials.
"""

from __future__ import annotations

from mesos_framework.operator.agent import AgentOperator
from mesos_framework.operator.master import MasterEvents, MasterOperator

__all__ = ["AgentOperator", "MasterEvents", "MasterOperator"]
