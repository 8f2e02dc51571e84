"""Persistence of scheduler state: the store protocol and its stores.

* :class:`MemoryStore`: this process only (tests, or no persistence).
* :class:`SQLiteStore`: one file on this machine (standard library, no server).
* :class:`ZooKeeperStore`: ZooKeeper, for schedulers on several machines.
* :func:`open_store`: the store a spec string names (``"memory"``,
  ``"sqlite:///var/lib/app/state.db"``, ``"zk://h1:2181,h2:2181/app"``).
"""

from mesos_framework.persistence._factory import open_store
from mesos_framework.persistence.base import StateStore
from mesos_framework.persistence.memory import MemoryStore
from mesos_framework.persistence.sqlite import SQLiteStore
from mesos_framework.persistence.zookeeper import ZooKeeperStore

__all__ = ["MemoryStore", "SQLiteStore", "StateStore", "ZooKeeperStore", "open_store"]
