"""The transport layer: HTTP to Mesos masters and agents, and finding the leader.

* `HttpClient` — the SUBSCRIBE stream and calls, redirects, retries, typed errors.
* `EventStream` — decoded events of one subscription.
* `detector_for()` — master specs (``host:port`` lists, URLs, ``zk://``) to a
  `MasterDetector`.
* `Backoff`, `Credentials`, `TLSConfig`, `Endpoint`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesos_framework._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
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

if not TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above (and so catch a misspelt name).
    __getattr__, __dir__ = _lazy_exports(
        __name__,
        {
            "mesos_framework.transport.backoff": ["Backoff"],
            "mesos_framework.transport.config": ["Credentials", "TLSConfig"],
            "mesos_framework.transport.detector": ["MasterDetector", "StaticDetector", "detector_for"],
            "mesos_framework.transport.endpoint": ["Endpoint", "parse_endpoint", "resolve_location"],
            "mesos_framework.transport.http": [
                "DEFAULT_MAX_RECORD_SIZE",
                "CallTimeout",
                "EventStream",
                "HttpClient",
                "Resolver",
                "StreamDecodeError",
                "TLSError",
            ],
            "mesos_framework.transport.zookeeper": [
                "ZooKeeperDetector",
                "leader_child",
                "master_info_endpoint",
            ],
        },
    )
