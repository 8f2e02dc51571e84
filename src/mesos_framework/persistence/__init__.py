"""Persistence of scheduler state: the store protocol, an in-memory and a ZooKeeper store."""

from mesos_framework.persistence.base import StateStore
from mesos_framework.persistence.memory import MemoryStore
from mesos_framework.persistence.zookeeper import ZooKeeperStore

__all__ = ["MemoryStore", "StateStore", "ZooKeeperStore"]
