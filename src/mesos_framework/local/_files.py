"""The files a local master or agent lets clients browse and read.

Like Mesos's ``Files`` process: each executor sandbox is reachable under its
real path and under the virtual path
``/frameworks/<framework>/executors/<executor>/runs/latest`` (the newest run).
Serves ``/files/browse``, ``/files/read``, ``/files/download`` and the
operator calls ``LIST_FILES`` and ``READ_FILE``.
"""

from __future__ import annotations

import mimetypes
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

#: Mesos reads at most 16 pages per request.
MAX_READ = 16 * 4096


class FilesError(Exception):
    """A request Mesos answers with ``status`` and ``text``."""

    def __init__(self, status: int, text: str = "") -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class Files:
    """The sandboxes under the work directories ``roots`` of agents."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.roots = [r.resolve() for r in roots]

    def resolve(self, path: str) -> Path:
        """The real path behind a virtual or real ``path``; ``FilesError(404)`` if none."""
        parts = [p for p in path.split("/") if p]
        if ".." in parts:
            raise FilesError(400, "Path cannot contain '..'.\n")
        if len(parts) >= 6 and parts[0] == "frameworks" and parts[2] == "executors" and parts[4] == "runs":
            fid, eid, run, rest = parts[1], parts[3], parts[5], parts[6:]
            runs = [
                d
                for root in self.roots
                for d in root.glob(f"slaves/*/frameworks/{fid}/executors/{eid}/runs/*")
                if d.is_dir() and run in ("latest", d.name)
            ]
            if not runs:
                raise FilesError(404)
            base = max(runs, key=lambda d: d.stat().st_mtime)
            target = base.joinpath(*rest)
        else:
            target = Path("/", *parts)
            if not any(root == target or root in target.parents for root in self.roots):
                raise FilesError(404)
        if not target.exists():
            raise FilesError(404)
        return target

    def browse(self, path: str) -> list[dict[str, Any]]:
        """``FileInfo`` dicts (operator API shape) of a directory's entries, sorted by name."""
        target = self.resolve(path)
        if not target.is_dir():
            return [file_info(path, target)] if target.is_file() else []
        shown = "/" + "/".join(p for p in path.split("/") if p)
        return [file_info(f"{shown.rstrip('/')}/{e.name}", e) for e in sorted(target.iterdir())]

    def read(self, path: str, offset: int, length: int | None) -> tuple[int, bytes]:
        """The file's size and up to ``length`` bytes (at most `MAX_READ`) from ``offset``."""
        target = self.resolve(path)
        if target.is_dir():
            raise FilesError(400, "Cannot read a directory.\n")
        size = target.stat().st_size
        if offset >= size or length == 0:
            return size, b""
        with open(target, "rb") as f:
            f.seek(offset)
            return size, f.read(min(length if length is not None else MAX_READ, MAX_READ))

    def download(self, path: str) -> tuple[Path, str]:
        """The file to send and its content type."""
        target = self.resolve(path)
        if target.is_dir():
            raise FilesError(400, "Cannot download a directory.\n")
        return target, mimetypes.guess_type(target.name)[0] or "application/octet-stream"


def file_info(path: str, target: Path) -> dict[str, Any]:
    """A ``mesos.v1.FileInfo`` as a dict."""
    st = target.stat()
    info: dict[str, Any] = {
        "path": path,
        "nlink": st.st_nlink,
        "size": st.st_size,
        "mtime": {"nanoseconds": int(st.st_mtime * 1e9)},
        "mode": st.st_mode,
    }
    try:
        import grp  # noqa: PLC0415
        import pwd  # noqa: PLC0415 - not on every platform

        info["uid"] = pwd.getpwuid(st.st_uid).pw_name
        info["gid"] = grp.getgrgid(st.st_gid).gr_name
    except (ImportError, KeyError):
        pass
    return info


def browse_json(info: dict[str, Any]) -> dict[str, Any]:
    """A ``FileInfo`` dict in the ``/files/browse`` shape (seconds, mode as ``ls`` shows it)."""
    return {
        "path": info["path"],
        "nlink": info["nlink"],
        "size": info["size"],
        "mtime": info["mtime"]["nanoseconds"] // 1_000_000_000,
        "mode": stat.filemode(info["mode"]),
        "uid": info.get("uid", ""),
        "gid": info.get("gid", ""),
    }


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text)


def http_files(request: web.Request, files: Files) -> web.StreamResponse:
    """``/files/browse``, ``/files/read`` and ``/files/download`` (``.json`` suffixes too)."""
    name = request.path.removeprefix("/files/").removesuffix(".json")
    if name not in ("browse", "read", "download"):
        return _text(404, "")
    path = request.query.get("path")
    if not path:
        return _text(400, "Expecting 'path=value' in query.\n")
    try:
        if name == "browse":
            listing = [browse_json(info) for info in files.browse(path)]
            return web.Response(body=orjson.dumps(listing), content_type="application/json")
        if name == "download":
            target, content_type = files.download(path)
            return web.FileResponse(
                target,
                headers={
                    "Content-Type": content_type,
                    "Content-Disposition": f"attachment; filename={target.name}",
                },
            )
        offset, length = _offset_length(request)
        if offset == -1:
            size, _ = files.read(path, 0, 0)
            body = orjson.dumps({"data": "", "offset": size})
            return web.Response(body=body, content_type="application/json")
        _size, data = files.read(path, offset, length)
    except FilesError as exc:
        return _text(exc.status, exc.text)
    body = orjson.dumps({"data": data.decode("utf-8", "replace"), "offset": offset})
    return web.Response(body=body, content_type="application/json")


def _offset_length(request: web.Request) -> tuple[int, int | None]:
    offset, length = 0, None
    try:
        if "offset" in request.query:
            offset = int(request.query["offset"])
    except ValueError as exc:
        raise FilesError(400, f"Failed to parse offset: {exc}.\n") from None
    if offset < -1:
        raise FilesError(400, f"Negative offset provided: {offset}.\n")
    try:
        if "length" in request.query:
            length = int(request.query["length"])
    except ValueError as exc:
        raise FilesError(400, f"Failed to parse length: {exc}.\n") from None
    if length is not None and length < -1:
        raise FilesError(400, f"Negative length provided: {length}.\n")
    return offset, None if length == -1 else length
