"""What a `Scheduler` opens and closes around its session: local cluster, state store, logging.

The local cluster and the store classes are reached through factories (an import by name,
the `persistence` package), so the scheduler layer does not depend on them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mesos_framework.errors import ConfigurationError
from mesos_framework.scheduler.options import SchedulerOptions

if TYPE_CHECKING:
    from mesos_framework.persistence.base import StateStore

__all__ = ["LogState", "configure_logging", "open_local_cluster", "open_state_store", "restore_logging"]

#: The package logger's level before `configure_logging`, and the file handler it added.
LogState = tuple[int, logging.Handler | None]


async def open_local_cluster() -> Any:
    """Start an in-process local cluster (`master="local"`).

    A factory, not an import: the scheduler layer does not depend on the local cluster
    (which is loaded only when asked for).
    """
    local = importlib.import_module("mesos_framework.local")
    cluster = local.LocalCluster()
    await cluster.__aenter__()
    return cluster


def open_state_store(opts: SchedulerOptions) -> StateStore | None:
    """The state store the options choose (a `state_store` instance or spec, or `use_zk`).

    Store classes are reached through the `persistence` package (its `open_store` factory
    for specs), never imported from their modules here.
    """
    from mesos_framework import persistence  # noqa: PLC0415 - loaded only when a store is used

    spec = opts.state_store
    if opts.use_zk:
        hosts = opts.zk_url.removeprefix("zk://").rstrip("/")
        store: StateStore = persistence.ZooKeeperStore(hosts, opts.zk_path)
        return store
    if isinstance(spec, str):
        open_store: Callable[[str], StateStore] | None = getattr(persistence, "open_store", None)
        if open_store is None:
            raise ConfigurationError(
                "store specs need mesos_framework.persistence.open_store", option="state_store"
            )
        return open_store(spec)
    return spec


def configure_logging(opts: SchedulerOptions) -> LogState | None:
    """Only what the `logging` option asks for (a level, a file); `restore_logging` undoes it."""
    if opts.log_level is None and opts.log_file is None:
        return None
    logger = logging.getLogger("mesos_framework")
    previous = logger.level
    handler: logging.Handler | None = None
    if opts.log_level is not None:
        logger.setLevel(opts.log_level)
    if opts.log_file is not None:
        handler = logging.FileHandler(opts.log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    return (previous, handler)


def restore_logging(state: LogState | None) -> None:
    """Put the package logger back as `configure_logging` found it."""
    if state is None:
        return
    previous, handler = state
    logger = logging.getLogger("mesos_framework")
    logger.setLevel(previous)
    if handler is not None:
        logger.removeHandler(handler)
        handler.close()
