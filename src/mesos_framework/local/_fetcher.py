"""The fetcher: ``CommandInfo.uris`` into a sandbox before its executor starts.

It follows Mesos 1.11's ``src/slave/containerizer/fetcher.cpp`` and
``src/launcher/fetcher.cpp``:

* URIs are validated first (``Illegal characters in URI``, ``Malformed URI
  (missing path): ...``, ``URI output file must be within the sandbox
  directory``); a bad one fails the launch with ``Could not fetch: <why>``.
* Each URI is fetched in order to ``<sandbox>/<output_file or basename>``:
  local paths and ``file://`` URIs are copied (only absolute paths),
  ``http(s)://`` URLs downloaded (anything but ``200`` is an error), ``ftp://`` ones as
  Mesos's libcurl does (anonymous unless the URL names a user, ``CWD`` into each directory,
  binary ``RETR``; anything but a closing ``226`` is an error, and failures carry libcurl's
  texts: ``Login denied``, ``Access denied to remote resource``, ``Remote file not
  found``, ``Couldn't connect to server``); other schemes (``hdfs://``, ``s3://``, ...) go
  through the Hadoop client (``$HADOOP_HOME/bin/hadoop`` or ``hadoop``: ``hadoop version``,
  then ``hadoop fs -copyToLocal``); without one they fail with ``Failed to create HDFS
  client: Hadoop client is not available, exit status: 32512``.
* ``executable`` makes the file ``0755`` (and wins over ``extract``);
  ``extract`` unpacks ``.tar``, ``.tgz``, ``.tar.gz``, ``.tbz2``,
  ``.tar.bz2``, ``.txz``, ``.tar.xz`` and ``.zip`` into the sandbox, and a
  bare ``.gz`` into the file without the suffix; anything else is kept as is.
* ``cache`` goes through a per-agent cache keyed by ``user@uri``: downloaded
  once (into ``<key digest>-<basename>``, shared by the agent and its
  default executors' nested launches), then copied or extracted from there.
* The fetcher's log goes to the sandbox's ``stderr``; a failure there is
  ``Failed to fetch '<uri>': <why>`` and the container's launch fails with
  ``Failed to fetch all URIs for container '<id>': exited with status 1``.

Standard library only: the default executor loads it by path to fetch the
URIs of its tasks into their own sandboxes (Mesos's nested container launch).
"""

from __future__ import annotations

import contextlib
import ftplib
import gzip
import hashlib
import logging
import lzma
import os
import shutil
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["FetchError", "Fetcher", "Uri", "basename"]

log = logging.getLogger(__name__)

ARCHIVES = (".tar", ".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip")
DEFAULT_CACHE_SIZE = 2 * 1024**3
"""Mesos's ``--fetcher_cache_size`` default: 2 GB."""
NET_SCHEMES = ("http://", "https://", "ftp://", "ftps://")


@dataclass(frozen=True)
class Uri:
    """A ``CommandInfo.URI`` (``extract`` defaults to true, as in ``mesos.proto``)."""

    value: str
    extract: bool = True
    executable: bool = False
    cache: bool = False
    output_file: str | None = None

    @classmethod
    def from_proto(cls, uri: Any) -> Uri:
        """From a ``CommandInfo.URI`` message."""
        return cls(
            uri.value,
            bool(uri.extract),
            bool(uri.executable),
            bool(uri.cache),
            uri.output_file if uri.HasField("output_file") else None,
        )

    @classmethod
    def from_json(cls, uri: dict[str, Any]) -> Uri:
        """From a ``CommandInfo.URI`` in JSON."""
        return cls(
            str(uri.get("value", "")),
            bool(uri.get("extract", True)),
            bool(uri.get("executable", False)),
            bool(uri.get("cache", False)),
            uri.get("output_file"),
        )


class FetchError(Exception):
    """A fetch failed; ``str()`` is the launch failure's text (after ``Failed to launch container: ``)."""


class _Failed(Exception):
    """One URI could not be fetched (the fetcher's own message)."""


def basename(uri: str) -> str:
    """``Fetcher::basename``: the last path component (URIs treated as paths)."""
    if any(c in uri for c in "\\'\0"):
        raise _Failed("Illegal characters in URI")
    index = uri.find("://")
    if index > 1:
        path = uri[index + 3 :]
        if "/" not in path or len(path) <= path.find("/") + 1:
            raise _Failed(f"Malformed URI (missing path): {uri}")
        return path[path.rfind("/") + 1 :]
    return os.path.basename(uri.rstrip("/")) or uri


def validate(uris: Iterable[Uri]) -> str | None:
    """``validateUris``: the first problem, or None."""
    for uri in uris:
        try:
            basename(uri.value)
        except _Failed as exc:
            return str(exc)
        if uri.output_file is not None:
            if not uri.output_file:
                return "URI output file path is empty"
            if uri.output_file.startswith("/"):
                return "URI output file must be within the sandbox directory"
    return None


def _local_path(uri: str) -> str | None:
    """``uriToLocalPath``: the path of a local URI, None for a remote one."""
    is_file = uri.startswith("file://")
    if not is_file and "://" in uri:
        return None
    path = uri[len("file://") :] if is_file else uri
    path = path.removeprefix("localhost")
    if not os.path.isabs(path):
        if is_file:
            raise _Failed("File URI only supports absolute paths")
        raise _Failed(
            "A relative path was passed for the resource but the Mesos framework home was not "
            "specified. Please either provide this config option or avoid using a relative path"
        )
    return path


def _raw_status(returncode: int) -> int:
    """A wait status as Mesos prints it (``32512`` for exit 127) from a subprocess return code."""
    return -returncode if returncode < 0 else returncode << 8


def _hadoop_copy(uri: str, destination: Path) -> None:
    """Any other scheme (``hdfs://``, ``s3://``, ...) through the Hadoop client, as
    ``downloadWithHadoopClient``: ``$HADOOP_HOME/bin/hadoop`` or ``hadoop`` on the PATH, checked with
    ``hadoop version``, then ``hadoop fs -copyToLocal``."""
    home = os.environ.get("HADOOP_HOME")
    hadoop = os.path.join(home, "bin", "hadoop") if home else "hadoop"
    check = subprocess.run(
        f"{hadoop} version 2>&1", shell=True, stdin=subprocess.DEVNULL, capture_output=True, check=False
    )
    if check.returncode != 0:
        raise _Failed(
            "Failed to create HDFS client: Hadoop client is not available, exit status: "
            + str(_raw_status(check.returncode))
        )
    log.info("Downloading resource with Hadoop client from '%s' to '%s'", uri, destination)
    try:
        copy = subprocess.run(
            [hadoop, "fs", "-copyToLocal", uri, str(destination)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        raise _Failed(f"HDFS copyToLocal failed: Failed to execute the subprocess: {exc}") from None
    if copy.returncode != 0:
        raise _Failed(
            "HDFS copyToLocal failed: Unexpected result from the subprocess: "
            f"status='{_raw_status(copy.returncode)}', stdout='{copy.stdout.decode(errors='replace')}', "
            f"stderr='{copy.stderr.decode(errors='replace')}'"
        )


def _download(uri: str, destination: Path) -> None:
    uri = uri.lstrip()
    path = _local_path(uri)
    if path is not None:
        try:
            shutil.copyfile(path, destination)
        except OSError as exc:
            raise _Failed(f"Failed to copy '{path}' to '{destination}': {exc.strerror or exc}") from None
        return
    if not uri.startswith(NET_SCHEMES):
        _hadoop_copy(uri, destination)
        return
    log.info("Downloading resource from '%s' to '%s'", uri, destination)
    if uri.startswith("ftp://"):
        _ftp_download(uri, destination)
        return
    try:
        with (
            urllib.request.urlopen(uri, timeout=60, context=ssl.create_default_context()) as resp,
            open(destination, "wb") as out,
        ):
            code = resp.status
            shutil.copyfileobj(resp, out)
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (OSError, ValueError) as exc:
        raise _Failed(f"Error downloading resource: {getattr(exc, 'reason', exc)}") from None
    if uri.startswith("http") and code != 200:
        with contextlib.suppress(OSError):
            destination.unlink()
        raise _Failed(f"Error downloading resource, received HTTP return code {code}")


def _ftp_download(uri: str, destination: Path) -> None:
    """``ftp://`` as libcurl fetches it for Mesos: log in (``anonymous`` unless the URL names a
    user), ``CWD`` into each directory of the path, ``TYPE I``, ``RETR``; the transfer's last
    reply must be ``226``. Failures carry ``curl_easy_strerror``'s texts."""

    def failed(why: str) -> _Failed:
        with contextlib.suppress(OSError):
            destination.unlink()
        return _Failed(f"Error downloading resource: {why}")

    try:
        parts = urllib.parse.urlsplit(uri)
        port = parts.port or 21
    except ValueError:
        raise failed("URL using bad/illegal format or missing URL") from None
    user = urllib.parse.unquote(parts.username) if parts.username is not None else "anonymous"
    password = urllib.parse.unquote(parts.password or "") if parts.username is not None else "ftp@example.com"
    *directories, name = (urllib.parse.unquote(p) for p in parts.path[1:].split("/"))
    ftp = ftplib.FTP(timeout=60)
    try:
        try:
            ftp.connect(parts.hostname or "", port)
        except socket.gaierror:
            raise failed("Couldn't resolve host name") from None
        except OSError:
            raise failed("Couldn't connect to server") from None
        try:
            ftp.login(user, password)
        except ftplib.error_perm:
            raise failed("Login denied") from None
        for directory in directories:
            try:
                ftp.cwd(directory or "/")
            except ftplib.error_perm:
                raise failed("Access denied to remote resource") from None
        ftp.voidcmd("TYPE I")
        try:
            data = ftp.transfercmd(f"RETR {name}")
        except ftplib.error_perm as exc:
            if str(exc).startswith("550"):
                raise failed("Remote file not found") from None
            raise failed("FTP: couldn't retrieve (RETR failed) the specified file") from None
        with data, data.makefile("rb") as source, open(destination, "wb") as out:
            shutil.copyfileobj(source, out)
        try:
            reply = ftp.getresp()
        except ftplib.Error as exc:
            reply = str(exc)
        code = int(reply[:3]) if reply[:3].isdigit() else 0
        if code != 226:
            raise _Failed(f"Error downloading resource, received FTP return code {code}")
    except (ftplib.Error, EOFError, OSError) as exc:
        raise failed(f"FTP: {exc}") from None
    finally:
        if ftp.sock is not None:
            with contextlib.suppress(ftplib.Error, OSError, EOFError):
                ftp.quit()
        ftp.close()


def _extract(source: Path, directory: Path) -> bool:
    """Unpack an archive into ``directory``; False if ``source`` is not one."""
    name = source.name
    try:
        if name.endswith(ARCHIVES[:-1]):
            with tarfile.open(source) as tar:
                if hasattr(tarfile, "tar_filter"):  # Python >= 3.11.4: no absolute or outside paths
                    tar.extractall(directory, filter="tar")
                else:  # pragma: no cover - older 3.11
                    tar.extractall(directory)
        elif name.endswith(".zip"):
            with zipfile.ZipFile(source) as archive:
                for member in archive.infolist():
                    target = archive.extract(member, directory)
                    mode = member.external_attr >> 16 & 0o777
                    if mode and not member.is_dir():
                        os.chmod(target, mode)
        elif name.endswith(".gz"):
            with gzip.open(source, "rb") as src, open(directory / name[: -len(".gz")], "wb") as out:
                shutil.copyfileobj(src, out)
        else:
            return False
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, lzma.LZMAError, ValueError) as exc:
        raise _Failed(f"Failed to extract archive '{source}' to '{directory}': {exc}") from None
    log.info("Extracted '%s' into '%s'", source, directory)
    return True


class Fetcher:
    """One agent's fetcher, with its cache in ``cache_dir``."""

    def __init__(self, cache_dir: Path, cache_size: int | None = DEFAULT_CACHE_SIZE) -> None:
        self.cache_dir = cache_dir
        self.cache_size = cache_size
        """Bytes the cache may hold (``--fetcher_cache_size``, 2 GB); None: no limit."""
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._lru: OrderedDict[Path, int] | None = None  # cache file -> size, least recent first
        self._refs: Counter[Path] = Counter()  # cache files being copied or extracted

    @property
    def downloads(self) -> int:
        """Files in the cache (each downloaded once)."""
        if not self.cache_dir.is_dir():
            return 0
        return sum(1 for p in self.cache_dir.iterdir() if not p.name.startswith("."))

    def fetch(
        self,
        uris: Iterable[Uri],
        sandbox: Path,
        *,
        container_id: str,
        user: str | None,
        stderr: BinaryIO | None = None,
    ) -> None:
        """Fetch every URI into ``sandbox`` (blocking: run it in a thread); FetchError on failure."""
        uris = list(uris)
        if not uris:
            return
        problem = validate(uris)
        if problem is not None:
            raise FetchError(f"Could not fetch: {problem}")

        def note(text: str) -> None:
            if stderr is not None:
                stamp = time.strftime("%H:%M:%S")
                stderr.write(f"{stamp} fetcher: {text}\n".encode())
                stderr.flush()

        for uri in uris:
            note(f"Fetching URI '{uri.value}'")
            try:
                result = self._fetch_one(uri, sandbox, user)
            except _Failed as exc:
                note(f"Failed to fetch '{uri.value}': {exc}")
                raise FetchError(
                    f"Failed to fetch all URIs for container '{container_id}': exited with status 1"
                ) from None
            note(f"Fetched '{uri.value}' to '{result}'")
        note(f"Successfully fetched all URIs into '{sandbox}'")

    def _fetch_one(self, uri: Uri, sandbox: Path, user: str | None) -> Path:
        output = uri.output_file if uri.output_file is not None else basename(uri.value)
        destination = sandbox / output
        if uri.output_file is not None and os.path.dirname(output):
            try:
                destination.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _Failed(
                    f"Unable to create subdirectory {os.path.dirname(output)} in sandbox: {exc}"
                ) from None
        if uri.cache:
            source, cached = self._cached(uri.value, user)
            try:
                if uri.executable:
                    self._copy(source, destination)
                    return self._executable(destination)
                if uri.extract and _extract(source, sandbox):
                    return sandbox
                self._copy(source, destination)
                return destination
            finally:
                self._release(source, cached)
        _download(uri.value, destination)
        if uri.executable:
            return self._executable(destination)
        if uri.extract and _extract(destination, sandbox):
            return sandbox
        return destination

    def _cached(self, uri: str, user: str | None) -> tuple[Path, bool]:
        """The cache file of ``user@uri`` (downloaded if missing) and True; or, when it does not
        fit in the cache, the download itself and False (Mesos then bypasses the cache)."""
        key = uri if user is None else f"{user}@{uri}"
        base = basename(uri)
        if len(base) > 20:  # as Mesos's cache file names: the extension is kept
            base = base[:10] + "_" + base[-10:]
        path = self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}-{base}"
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                lru = self._entries()
                if path.exists():
                    lru[path] = lru.pop(path, 0) or path.stat().st_size
                    self._refs[path] += 1
                    return path, True
                lru.pop(path, None)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            partial = self.cache_dir / f".{uuid.uuid4().hex}.part"  # other processes never see half
            keep = False
            try:
                _download(uri, partial)
                size = partial.stat().st_size
                with self._lock:
                    if not self._reserve(size):
                        log.info("'%s' (%d bytes) does not fit in the fetcher cache: not cached", uri, size)
                        self._refs[partial] += 1
                        keep = True  # used once, then removed by _release()
                        return partial, False
                    os.replace(partial, path)
                    self._entries()[path] = size
                    self._refs[path] += 1
                return path, True
            finally:
                if not keep:
                    with contextlib.suppress(OSError):
                        partial.unlink()

    def _entries(self) -> OrderedDict[Path, int]:
        """The cache's files, least recently used first (at first use: by modification time,
        as another process, a default executor, may have filled the cache)."""
        if self._lru is None:
            found: list[tuple[float, Path, int]] = []
            if self.cache_dir.is_dir():
                for p in self.cache_dir.iterdir():
                    if not p.name.startswith("."):
                        with contextlib.suppress(OSError):
                            st = p.stat()
                            found.append((st.st_mtime, p, st.st_size))
            self._lru = OrderedDict((p, size) for _, p, size in sorted(found))
        return self._lru

    def _reserve(self, size: int) -> bool:
        """Room for ``size`` bytes, evicting least recently used files no fetch is using
        (``Cache::reserve``); False if it cannot be made."""
        if self.cache_size is None:
            return True
        lru = self._entries()
        used = sum(lru.values())
        if used + size <= self.cache_size:
            return True
        victims = []
        freed = 0
        for p, bytes_ in lru.items():
            if self._refs[p] == 0:
                victims.append(p)
                freed += bytes_
                if used - freed + size <= self.cache_size:
                    break
        if used - freed + size > self.cache_size:
            return False
        for p in victims:
            log.info("evicting '%s' from the fetcher cache", p.name)
            del lru[p]
            with contextlib.suppress(OSError):
                p.unlink()
        return True

    def _release(self, source: Path, cached: bool) -> None:
        with self._lock:
            self._refs[source] -= 1
            if self._refs[source] <= 0:
                del self._refs[source]
                if not cached:
                    with contextlib.suppress(OSError):
                        source.unlink()

    @staticmethod
    def _copy(source: Path, destination: Path) -> None:
        try:
            shutil.copyfile(source, destination)
        except OSError as exc:
            raise _Failed(f"Failed to copy '{source}' to '{destination}': {exc.strerror or exc}") from None

    @staticmethod
    def _executable(path: Path) -> Path:
        try:
            os.chmod(path, 0o755)
        except OSError as exc:
            raise _Failed(f"Failed to chmod executable '{path}': {exc.strerror or exc}") from None
        return path
