"""The fetcher's ``ftp://`` scheme against a real FTP server on loopback (pyftpdlib).

Mesos fetches ``ftp://`` URIs with libcurl (``net::download`` in stout, called by
``downloadWithNet`` in ``src/launcher/fetcher.cpp``): a transfer must end with reply 226
("Error downloading resource, received FTP return code <n>" otherwise), and a failure is
"Error downloading resource: " + ``curl_easy_strerror``. The real-Mesos harness has no
fetcher (its libcurl is a stand-in), so these cases run on the local cluster only.
"""

from __future__ import annotations

import io
import re
import socket
import tarfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mesos_framework.local import LocalCluster
from mesos_framework.local._fetcher import Fetcher, FetchError, Uri
from tests.conformance.rawclient import RawScheduler, framework_info

with warnings.catch_warnings():
    # pyftpdlib runs on the standard library's asyncore/asynchat up to Python 3.11
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer


class Server:
    """A loopback FTP server (anonymous and ``user``/``secret``), counting files sent."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sent: list[str] = []
        authorizer = DummyAuthorizer()
        authorizer.add_anonymous(str(root))
        authorizer.add_user("user", "secret", str(root), perm="elr")
        server = self

        class Handler(FTPHandler):
            def on_file_sent(self, file: str) -> None:
                server.sent.append(file)

        Handler.authorizer = authorizer
        Handler.auth_failed_timeout = 0.05  # (pyftpdlib delays a refused login 3 s)
        self.server = FTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.socket.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve)

    def _serve(self) -> None:
        # One poll at a time, so that the server is closed in its own thread (pyftpdlib's tests do so).
        while not self.stopping.is_set():
            self.server.serve_forever(timeout=0.02, blocking=False)
        self.server.close_all()

    def url(self, path: str, auth: str = "") -> str:
        return f"ftp://{auth}127.0.0.1:{self.port}/{path}"


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "ftp"
    (root / "pub").mkdir(parents=True)
    (root / "pub" / "hello.txt").write_text("hello over ftp\n")
    (root / "pub" / "run.sh").write_text("#!/bin/sh\necho ran\n")
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        body = b"from the archive\n"
        info = tarfile.TarInfo("unpacked.txt")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    (root / "pub" / "bundle.tar.gz").write_bytes(data.getvalue())
    server = Server(root)
    server.thread.start()
    yield server
    server.stopping.set()
    server.thread.join(timeout=10)


def fetch(fetcher: Fetcher, sandbox: Path, *uris: Uri) -> str:
    """Fetch into ``sandbox``; the fetcher's log (the sandbox's stderr)."""
    log = io.BytesIO()
    sandbox.mkdir(exist_ok=True)
    try:
        fetcher.fetch(uris, sandbox, container_id="c-1", user="someone", stderr=log)
    finally:
        text = log.getvalue().decode()
    return text


def test_ftp_uris_are_downloaded_extracted_made_executable_and_cached(ftp: Server, tmp_path: Path) -> None:
    """Anonymous and named logins, ``extract`` of a tarball, ``executable``, ``output_file``;
    a ``cache``d URI is transferred once for two sandboxes."""
    fetcher = Fetcher(tmp_path / "cache")
    for sandbox in (tmp_path / "one", tmp_path / "two"):
        log = fetch(
            fetcher,
            sandbox,
            Uri(ftp.url("pub/hello.txt")),
            Uri(ftp.url("pub/hello.txt", "user:secret@"), output_file="named.txt"),
            Uri(ftp.url("pub/bundle.tar.gz"), cache=True),
            Uri(ftp.url("pub/run.sh"), executable=True),
        )
        assert "Successfully fetched all URIs" in log
        assert (sandbox / "hello.txt").read_text() == "hello over ftp\n"
        assert (sandbox / "named.txt").read_text() == "hello over ftp\n"
        assert (sandbox / "unpacked.txt").read_text() == "from the archive\n"
        assert (sandbox / "run.sh").stat().st_mode & 0o777 == 0o755
    assert sorted(Path(f).name for f in ftp.sent) == sorted(
        ["hello.txt"] * 4 + ["bundle.tar.gz"] + ["run.sh"] * 2
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("path", "auth", "why"),
    [
        ("pub/missing.txt", "", "Remote file not found"),
        ("nowhere/hello.txt", "", "Access denied to remote resource"),
        ("pub/hello.txt", "user:wrong@", "Login denied"),
        ("closed", "", "Couldn't connect to server"),
    ],
)
def test_ftp_failures_carry_libcurls_texts(
    ftp: Server, tmp_path: Path, path: str, auth: str, why: str
) -> None:
    """A file that is not there, a directory that is not there, a refused login, nobody
    listening: "Failed to fetch '<uri>': Error downloading resource: <libcurl's text>"."""
    uri = f"ftp://127.0.0.1:{_closed_port()}/pub/x" if path == "closed" else ftp.url(path, auth)
    log = io.BytesIO()
    with pytest.raises(
        FetchError, match=r"Failed to fetch all URIs for container 'c-1': exited with status 1"
    ):
        Fetcher(tmp_path / "cache").fetch([Uri(uri)], tmp_path, container_id="c-1", user=None, stderr=log)
    assert f"Failed to fetch '{uri}': Error downloading resource: {why}" in log.getvalue().decode()
    assert not (tmp_path / Path(path).name).exists()


async def test_a_task_runs_with_a_file_fetched_over_ftp(ftp: Server, http: aiohttp.ClientSession) -> None:
    """End to end: the agent fetches before the executor starts; the task reads the file."""
    async with LocalCluster(allocation_interval=0.2, status_update_retry=1.0) as cluster:
        s = RawScheduler(cluster.url, http)
        await s.subscribe(framework_info("ftp"))
        offer = (await s.offers())[0]
        command: dict[str, Any] = {
            "value": "grep -q 'over ftp' hello.txt",
            "uris": [{"value": ftp.url("pub/hello.txt")}],
        }
        task_id = await s.launch(offer, command)
        states = []
        while not states or states[-1] not in ("TASK_FINISHED", "TASK_FAILED"):
            status = await s.update(task_id, within=60)
            if "uuid" in status:
                await s.ack(status)
            states.append(status["state"])
        await s.teardown()
    assert states[-1] == "TASK_FINISHED", states
    assert re.search(r"hello\.txt$", ftp.sent[-1])
