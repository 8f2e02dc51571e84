"""``mesos-framework state``: a master's frameworks, agents and tasks as tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
import click

from mesos_framework.errors import ConnectError, api_error


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _scalar(resources: dict[str, Any], name: str) -> str:
    value = resources.get(name)
    return f"{value:g}" if isinstance(value, int | float) else "-"


async def fetch_state(master: str) -> dict[str, Any]:
    """GET ``/master/state`` of ``master`` (a base URL) as a dict."""
    url = master.rstrip("/") + "/master/state"
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            if resp.status != 200:
                raise api_error(resp.status, await resp.text(), "GET /master/state", url=url)
            result: dict[str, Any] = await resp.json(content_type=None)
            return result
    except aiohttp.ClientError as exc:
        raise ConnectError(f"cannot reach {url}: {exc}") from exc


def render_state(st: dict[str, Any]) -> str:
    """Render a ``/master/state`` document as three tables."""
    agents = [
        (
            a.get("id", ""),
            a.get("hostname", ""),
            _scalar(a.get("resources", {}), "cpus"),
            _scalar(a.get("resources", {}), "mem"),
            a.get("resources", {}).get("ports", "-"),
        )
        for a in st.get("slaves", [])
    ]
    frameworks = [
        (
            f.get("id", ""),
            f.get("name", ""),
            "active" if f.get("active") else "inactive",
            len(f.get("tasks", [])),
            f.get("role", ",".join(f.get("roles", []))),
        )
        for f in st.get("frameworks", [])
    ]
    tasks = [
        (t.get("id", ""), t.get("name", ""), t.get("state", ""), t.get("slave_id", ""), f.get("name", ""))
        for f in st.get("frameworks", [])
        for t in f.get("tasks", [])
    ]
    parts = [
        f"master {st.get('leader', st.get('pid', '?'))}  version {st.get('version', '?')}",
        "",
        "AGENTS",
        _table(["ID", "HOSTNAME", "CPUS", "MEM", "PORTS"], agents),
        "",
        "FRAMEWORKS",
        _table(["ID", "NAME", "STATUS", "TASKS", "ROLES"], frameworks),
        "",
        "TASKS",
        _table(["ID", "NAME", "STATE", "AGENT", "FRAMEWORK"], tasks),
    ]
    return "\n".join(parts)


async def show_state(master: str) -> int:
    """Print the tables; exit status 0."""
    click.echo(render_state(await fetch_state(master)))
    return 0
