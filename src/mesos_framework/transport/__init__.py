"""The transport layer: HTTP to Mesos masters and agents, and finding the leader.

* :class:`HttpClient` — the SUBSCRIBE stream and calls, redirects, retries, typed errors.
* :class:`EventStream` — decoded events of one subscription.
* :func:`detector_for` — master specs (``host:port`` lists, URLs, ``zk://``) to a
  :class:`MasterDetector`.
* :class:`Backoff`, :class:`Credentials`, :class:`TLSConfig`, :class:`Endpoint`.
"""

from __future__ import annotations

from mesos_framework.transport.backoff import Backoff
from mesos_framework.transport.config import Credentials, TLSConfig
from mesos_framework.transport.detector import MasterDetector, StaticDetector, detector_for
from mesos_framework.transport.endpoint import Endpoint, parse_endpoint, resolve_location
from mesos_framework.transport.http import (
    DEFAULT_MAX_RECORD_SIZE,
    CallTimeout,
    EventStream,
    HttpClient,
    Resolver,
    StreamDecodeError,
    TLSError,
)
from mesos_framework.transport.zookeeper import ZooKeeperDetector, leader_child, master_info_endpoint

__all__ = [
    "DEFAULT_MAX_RECORD_SIZE",
    "Backoff",
    "CallTimeout",
    "Credentials",
    "Endpoint",
    "EventStream",
    "HttpClient",
    "MasterDetector",
    "Resolver",
    "StaticDetector",
    "StreamDecodeError",
    "TLSConfig",
    "TLSError",
    "ZooKeeperDetector",
    "detector_for",
    "leader_child",
    "master_info_endpoint",
    "parse_endpoint",
    "resolve_location",
]
