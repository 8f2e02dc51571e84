"""`without_password`: the one helper that hides URL passwords in messages, logs and reprs."""

from __future__ import annotations

import pytest

from mesos_framework._redact import without_password


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("zk://u:secret@h1:2181,h2:2181/mesos", "zk://u:***@h1:2181,h2:2181/mesos"),
        ("zk://u:secret@h1:2181", "zk://u:***@h1:2181"),
        ("https://u:p@ss:word@m1:5050/x?a=b@c", "https://u:***@m1:5050/x?a=b@c"),
        ("zk://h1:2181/mesos", "zk://h1:2181/mesos"),
        ("zk://h1:2181/a@b", "zk://h1:2181/a@b"),
        ("master@10.0.0.1:5050", "master@10.0.0.1:5050"),
        ("u:secret@m1:5050", "u:***@m1:5050"),
        ("memory", "memory"),
    ],
)
def test_without_password(url: str, shown: str) -> None:
    assert without_password(url) == shown
