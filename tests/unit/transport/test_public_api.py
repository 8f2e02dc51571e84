"""The transport package exports exactly its documented names, each with a docstring."""

from __future__ import annotations

import inspect

from mesos_framework import transport

DOCUMENTED = {
    "Backoff",
    "CallTimeout",
    "Credentials",
    "DEFAULT_MAX_RECORD_SIZE",
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
}


def test_all_is_the_documented_surface() -> None:
    assert set(transport.__all__) == DOCUMENTED
    for name in transport.__all__:
        obj = getattr(transport, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"


def test_new_error_classes_fit_the_tree() -> None:
    from mesos_framework.errors import ConnectError, ProtocolError, StreamClosed, TransportError

    assert issubclass(transport.TLSError, ConnectError)
    assert not transport.TLSError.retryable
    assert issubclass(transport.CallTimeout, TransportError)
    assert transport.CallTimeout.retryable
    assert issubclass(transport.StreamDecodeError, StreamClosed)
    assert issubclass(transport.StreamDecodeError, ProtocolError)
