"""The reference pages name everything they claim to cover (checked against the code)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from mesos_framework.scheduler import EVENTS, SEED_NAMES, SchedulerOptions

DOCS = Path(__file__).resolve().parents[2] / "docs"

# Accepted by parse_options besides the SchedulerOptions fields it derives from them.
EXTRA_OPTIONS = {
    "port",
    "role",
    "restart_states",
    "restart_backoff_minimum",
    "restart_backoff_maximum",
    "restart_backoff_factor",
    "max_restarts",
    "logging",
}
DERIVED_FIELDS = {"multi_role", "restart", "log_level", "log_file"}


def _codes(page: str) -> set[str]:
    text = re.sub(r"```.*?```", "", (DOCS / page).read_text(), flags=re.DOTALL)  # tables, not code blocks
    return set(re.findall(r"`([^`]+)`", text))


def test_options_page_covers_every_option_and_seed_name() -> None:
    names = _codes("options.md")
    fields = {f.name for f in dataclasses.fields(SchedulerOptions)} - DERIVED_FIELDS
    missing = sorted(n for n in fields | EXTRA_OPTIONS if n not in names)
    assert not missing, f"options.md does not document: {missing}"
    for seed, ours in SEED_NAMES.items():
        assert re.search(rf"\| `{seed}`[^|]*\| `{ours}`", (DOCS / "options.md").read_text()), seed


def test_events_page_covers_every_event() -> None:
    text = (DOCS / "events.md").read_text()
    missing = sorted(e for e in EVENTS if f"| `{e}` |" not in text)
    assert not missing, f"events.md does not document: {missing}"


def test_js_migration_maps_every_seed_option() -> None:
    text = (DOCS / "migration-js.md").read_text()
    for seed, ours in SEED_NAMES.items():
        assert f"`{seed}" in text and f"`{ours}" in text, seed
