"""The documentation site: builds strictly, and the API reference shows no raw reST."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.prereq import unavailable

ROOT = Path(__file__).resolve().parents[2]

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|attr|exc|data|obj|const):(?:`|<code>)")
SIMPLE_TABLE = re.compile(r"^\s*={3,}(?: +={3,})+\s*$", re.M)
GRID_TABLE = re.compile(r"^\s*\+(?:[-=]{3,}\+)+\s*$", re.M)
LITERAL_MARKER = re.compile(r"\w::\s*</p>")
API_PAGES = (
    "scheduler",
    "tasks",
    "executor",
    "health",
    "persistence",
    "admin",
    "operator",
    "local",
    "testing",
    "transport",
    "protocol",
    "errors",
)


def _text_outside_code(page: str) -> str:
    """The page's prose: code blocks removed, tags dropped, entities decoded, line breaks kept."""
    page = re.sub(r"<pre\b.*?</pre>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        unavailable("mkdocs is not installed (the [docs] extra)")
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return out


def test_every_public_module_has_its_page(site: Path) -> None:
    for name in API_PAGES:
        page = (site / "api" / name / "index.html").read_text()
        assert f"mesos_framework.{name}" in page, name
        assert 'class="doc doc-object' in page, f"api/{name} renders no object"
    nav = (site / "api" / "index.html").read_text()
    links = re.findall(
        r'href="(?:\.\./)?(scheduler|tasks|executor|health|persistence|local|testing|'
        r'transport|protocol|errors)/"',
        nav,
    )
    assert links and links[0] == "scheduler", links[:3]


def test_every_public_name_is_on_its_module_page(site: Path) -> None:
    # The pages list their objects one by one (in reading order), so a name added to a module's
    # __all__ must be added to docs/api/<module>.md too.
    import importlib

    missing = []
    for name in API_PAGES:
        if name == "testing":
            continue
        page = (site / "api" / name / "index.html").read_text()
        module = importlib.import_module(f"mesos_framework.{name}")
        missing += [
            f"mesos_framework.{name}.{public} (docs/api/{name}.md)"
            for public in module.__all__
            if f'id="mesos_framework.{name}.{public}"' not in page
        ]
    assert not missing, "not in the API reference: " + ", ".join(missing)


def test_the_scheduler_page_opens_with_the_scheduler_and_the_options_are_real_tables(site: Path) -> None:
    page = (site / "api" / "scheduler" / "index.html").read_text()
    headings = re.findall(r'<h2 id="(mesos_framework\.[\w.]+)"', page)
    assert headings[0] == "mesos_framework.scheduler.Scheduler", headings[:3]
    # The options are typed keywords (SchedulerKwargs), each described on the options page.
    options = (site / "options" / "index.html").read_text()
    tables = [t for t in re.findall(r"<table>.*?</table>", options, re.S) if "<th>option</th>" in t]
    assert sum(table.count("<tr>") for table in tables) > 30  # one row per option
    assert any("<code>framework_name</code>" in table for table in tables)


def test_no_raw_rest_in_the_site(site: Path) -> None:
    problems = []
    for path in sorted(site.rglob("*.html")):
        prose = _text_outside_code(path.read_text())
        raw = path.read_text()
        rel = path.relative_to(site)
        problems += [f"{rel}: role {m.group(0)!r}" for m in ROLE.finditer(raw)]
        problems += [f"{rel}: reST table {m.group(0).strip()[:40]!r}" for m in SIMPLE_TABLE.finditer(prose)]
        problems += [f"{rel}: reST table {m.group(0).strip()[:40]!r}" for m in GRID_TABLE.finditer(prose)]
        problems += [f"{rel}: literal marker {m.group(0)!r}" for m in LITERAL_MARKER.finditer(raw)]
    assert not problems, "\n".join(problems[:40])


def test_wide_code_scrolls_instead_of_being_clipped(site: Path) -> None:
    css = (site / "stylesheets" / "extra.css").read_text()
    assert re.search(r"pre > code\s*\{[^}]*overflow-x:\s*auto", css)
    assert "stylesheets/extra.css" in (site / "api" / "scheduler" / "index.html").read_text()
