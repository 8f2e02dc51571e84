"""Library etiquette: the package logger is changed only when asked, and put back on stop."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

from mesos_framework.scheduler import Scheduler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_no_logging_option_leaves_the_package_logger_alone() -> None:
    logger = logging.getLogger("mesos_framework")
    before = (logger.level, list(logger.handlers))
    s = Scheduler(master=f"127.0.0.1:{free_port()}", framework_name="quiet")
    await s.start()
    assert (logger.level, list(logger.handlers)) == before
    await s.stop()
    assert (logger.level, list(logger.handlers)) == before


async def test_logging_option_is_undone_by_stop(tmp_path: Path) -> None:
    logger = logging.getLogger("mesos_framework")
    before = (logger.level, list(logger.handlers))
    s = Scheduler(
        master=f"127.0.0.1:{free_port()}",
        framework_name="loud",
        logging={"level": "debug", "path": str(tmp_path), "file_name": "fw.log"},
    )
    await s.start()
    assert logger.level == logging.DEBUG
    assert any(isinstance(h, logging.FileHandler) for h in logger.handlers)
    logger.debug("written to the file")
    await s.stop()
    assert (logger.level, list(logger.handlers)) == before
    assert "written to the file" in (tmp_path / "fw.log").read_text()
