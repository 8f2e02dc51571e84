"""Choosing a state store with one option: `open_store()`."""

from __future__ import annotations

import os
from pathlib import Path

from mesos_framework._redact import without_password
from mesos_framework.errors import ConfigurationError
from mesos_framework.persistence.base import StateStore, check_timeout
from mesos_framework.persistence.memory import MemoryStore
from mesos_framework.persistence.sqlite import SQLiteStore
from mesos_framework.persistence.zookeeper import ZooKeeperStore

__all__ = ["SQLITE_SUFFIXES", "open_store"]

#: File name endings that make a plain path an SQLite store.
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")

_OPTION = "state_store"


def open_store(
    spec: str | os.PathLike[str] | StateStore | None, *, timeout: float | None = None
) -> StateStore:
    """The state store a spec names (not opened yet: the caller awaits ``open()``).

    * ``None`` or ``"memory"``: a `MemoryStore` (nothing survives the process).
    * ``"sqlite:///abs/path.db"``, a path ending ``.db``, ``.sqlite`` or
      ``.sqlite3``, or a `Path`: an `SQLiteStore` in that file
      (a relative path is taken from the current directory, now).
    * ``"zk://[user:password@]host:port[,host:port...]/path"``: a
      `ZooKeeperStore` under ``/path`` (digest credentials optional).
    * A store object (anything with the `StateStore` methods): itself.

    ``timeout`` (seconds) bounds each operation of an SQLite or ZooKeeper
    store (their defaults otherwise). Anything else raises
    `ConfigurationError` naming the option ``state_store``.
    """
    if timeout is not None:
        check_timeout(timeout, "state_store_timeout")
    if spec is None:
        return MemoryStore()
    if isinstance(spec, StateStore) and not isinstance(spec, str | os.PathLike):
        return spec
    if isinstance(spec, os.PathLike):
        return _sqlite(Path(spec), timeout)
    if not isinstance(spec, str):
        raise ConfigurationError(
            f"expected a store spec string, a path or a StateStore, got {type(spec).__name__}", option=_OPTION
        )
    text = spec.strip()
    shown = without_password(spec)  # for the messages: never a password in clear
    if text == "memory":
        return MemoryStore()
    if text.startswith("sqlite:"):
        rest = text[len("sqlite:") :]
        if not rest.startswith("///") or rest.startswith("////") or len(rest) == 3:
            raise ConfigurationError(
                f"expected sqlite:///absolute/path.db (three slashes, then the absolute path), got {shown!r}",
                option=_OPTION,
            )
        return _sqlite(Path(rest[2:]), timeout)
    if text.startswith("zk://"):
        return _zookeeper(text, timeout)
    if "://" not in text and text.lower().endswith(SQLITE_SUFFIXES):
        return _sqlite(Path(text), timeout)
    raise ConfigurationError(
        f"unknown state store {shown!r}: expected 'memory', 'sqlite:///abs/path.db', a path ending "
        f"{', '.join(SQLITE_SUFFIXES)}, or 'zk://host:port[,host:port...]/path'",
        option=_OPTION,
    )


def _sqlite(path: Path, timeout: float | None) -> SQLiteStore:
    if str(path) in ("", "."):
        raise ConfigurationError("an SQLite store needs a file path", option=_OPTION)
    return SQLiteStore(path) if timeout is None else SQLiteStore(path, timeout=timeout)


def _zookeeper(spec: str, timeout: float | None) -> ZooKeeperStore:
    authority, slash, path = spec[len("zk://") :].partition("/")
    shown = without_password(spec)  # for the messages: never the password in clear
    path = "/" + path.rstrip("/")
    if not slash or path == "/":
        raise ConfigurationError(
            f"a ZooKeeper store needs a path other than '/': {shown!r} (e.g. zk://host:2181/my-framework)",
            option=_OPTION,
        )
    auth: str | None = None
    if "@" in authority:
        auth, _, authority = authority.rpartition("@")
        if ":" not in auth:
            raise ConfigurationError("ZooKeeper credentials must be 'user:password'", option=_OPTION)
    hosts = [h.strip() for h in authority.split(",") if h.strip()]
    if not hosts:
        raise ConfigurationError(f"no ZooKeeper hosts in {shown!r}", option=_OPTION)
    for host in hosts:
        name, colon, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        if colon and (not name or not port.isdigit() or not 0 < int(port) < 65536):
            raise ConfigurationError(f"bad ZooKeeper host {host!r} in {shown!r}", option=_OPTION)
    if "//" in path:
        raise ConfigurationError(f"empty path segment in {shown!r}", option=_OPTION)
    if timeout is None:
        return ZooKeeperStore(",".join(hosts), path, auth=auth)
    return ZooKeeperStore(",".join(hosts), path, auth=auth, operation_timeout=timeout)
