"""`tests.support.prereq.unavailable`: a skip, or a failure when every prerequisite is required."""

from __future__ import annotations

import pytest

from tests.support import prereq


def test_a_missing_prerequisite_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prereq, "REQUIRE_ALL", False)
    with pytest.raises(pytest.skip.Exception, match="no frobnicator"):
        prereq.unavailable("no frobnicator")


def test_a_missing_prerequisite_fails_when_all_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prereq, "REQUIRE_ALL", True)
    with pytest.raises(pytest.fail.Exception, match="required prerequisite missing: no frobnicator"):
        prereq.unavailable("no frobnicator")
