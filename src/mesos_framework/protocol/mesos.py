"""The ``mesos`` namespace: every Mesos v1 message and enum, ready to construct.

``mesos.TaskID``, ``mesos.CommandInfo``, ``mesos.Resource``, enums such as
``mesos.TaskState`` (``mesos.TaskState.TASK_RUNNING``, ``mesos.TaskState.Name(1)``)
and the enum constants at top level (``mesos.TASK_RUNNING``) come from
``mesos.v1``; ``mesos.scheduler.Call`` / ``mesos.scheduler.Event`` and
``mesos.executor.Call`` / ``mesos.executor.Event`` from the scheduler and
executor packages, and the operator API's ``mesos.master.Call`` /
``mesos.master.Response`` / ``mesos.master.Event``, ``mesos.agent.Call`` /
``mesos.agent.Response`` with ``mesos.quota``, ``mesos.maintenance`` and
``mesos.allocator``.  They are real protobuf classes, so construct them with
keyword arguments; nested messages may be given as dicts and enums as names:

    cmd = mesos.CommandInfo(value="env && sleep 100", shell=True)
    task_id = mesos.TaskID.from_json('{"value": "web-1"}')
    res = mesos.Resource.from_dict({"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}})
    res.to_dict()   # {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}}

Every message class also has the Mesos-JSON helpers ``Cls.from_dict(obj, strict=True)``,
``Cls.from_json(text, strict=True)``, ``msg.to_dict()`` and ``msg.to_json()``
(see `mesos_framework.protocol.jsoncodec` for the rules).
"""

from __future__ import annotations

from mesos_framework.protocol._helpers import attach_helpers as _attach_helpers
from mesos_framework.protocol._schema import agent_pb2 as agent
from mesos_framework.protocol._schema import allocator_pb2 as allocator
from mesos_framework.protocol._schema import executor_pb2 as executor
from mesos_framework.protocol._schema import maintenance_pb2 as maintenance
from mesos_framework.protocol._schema import master_pb2 as master
from mesos_framework.protocol._schema import mesos_pb2 as _mesos_pb2
from mesos_framework.protocol._schema import quota_pb2 as quota
from mesos_framework.protocol._schema import scheduler_pb2 as scheduler
from mesos_framework.protocol._schema.mesos_pb2 import *  # noqa: F403

__all__ = ["agent", "allocator", "executor", "maintenance", "master", "quota", "scheduler"]
__all__ += _mesos_pb2.__all__

_attach_helpers(_mesos_pb2, scheduler, executor, allocator, maintenance, quota, master, agent)
