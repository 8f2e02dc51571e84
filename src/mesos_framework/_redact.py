"""Hiding the password of a URL's ``user:password@`` part in messages, logs and reprs.

Master specs (``zk://user:password@zk1:2181/mesos``), state store specs and the
high-availability URL may carry ZooKeeper credentials; every error message, log
line and repr that echoes such a string passes it through `without_password`
first.  This module imports nothing of the package, so every layer (and the
local cluster) may use it.
"""

from __future__ import annotations

__all__ = ["without_password"]


def without_password(url: str) -> str:
    """`url` with the password of its ``user:password@`` part (if any) replaced by ``***``.

    ``zk://u:pw@h:2181/p`` -> ``zk://u:***@h:2181/p``; without a ``scheme://``, a
    ``user:password@host:port`` spec likewise -> ``user:***@host:port``.  Strings
    without ``@`` before the first ``/`` (after the scheme) come back unchanged, and
    so does a libprocess PID such as ``master@10.0.0.1:5050`` (no ``:`` before its ``@``).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, tail = rest.partition("/")
    if "@" not in authority:
        return url
    credentials, _, hosts = authority.rpartition("@")
    if not sep and ":" not in credentials:
        return url
    user = credentials.partition(":")[0]
    return f"{scheme}{sep}{user}:***@{hosts}{slash}{tail}"
