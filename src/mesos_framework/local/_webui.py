"""The local master's web page (``GET /``): one self-contained HTML document, ``webui.html``.

No external assets and no build step: the script subscribes to the operator
API's event stream (``POST /api/v1`` ``SUBSCRIBE`` in JSON, RecordIO read with
a streaming ``fetch``), keeps agents, frameworks and tasks up to date from
its events, and shows a task's sandbox ``stdout``/``stderr`` through
``/files/read``. It resubscribes when the stream ends.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["page"]


@cache
def page() -> str:
    """The HTML of the page (``webui.html`` beside this module)."""
    return resources.files(__package__).joinpath("webui.html").read_text(encoding="utf-8")
