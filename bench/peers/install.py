"""Install the peer libraries into their own environment under ``bench/.peers/``.

The peers are never dependencies of the package; they live in:

- ``bench/.peers/venv``: a Python venv (same interpreter version as the one running this) with
  pymesos 0.3.15. pymesos needs ``http-parser``, whose last release (0.9.0) ships a C file generated
  by an old Cython that does not compile on Python 3.11 (``longintrepr.h``; pymesos issue 130,
  http-parser issues 94/98). We download the 0.9.0 sdist from PyPI, delete the stale ``parser.c``,
  regenerate it from ``parser.pyx`` with Cython 0.29 and build that. Without the C extension,
  ``http_parser.http`` silently falls back to its pure-Python parser, so the check below insists on
  the compiled ``http_parser.parser``.
- ``bench/.peers/node``: ``npm install mesos-framework@0.5.3`` (install scripts disabled).

Idempotent: a second run only checks that both are importable (well under a second). Only the
PyPI and npm registries are contacted, through pip and npm.

Run: ``python -m bench.peers.install`` (or ``bench/peers/setup.sh``); ``--force`` rebuilds.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

PYMESOS_VERSION = "0.3.15"
HTTP_PARSER_VERSION = "0.9.0"
CYTHON_SPEC = "Cython>=0.29.36,<3"
MESOS_FRAMEWORK_JS_VERSION = "0.5.3"

BENCH_DIR = Path(__file__).resolve().parent.parent
PEERS_DIR = BENCH_DIR / ".peers"
VENV_DIR = PEERS_DIR / "venv"
NODE_DIR = PEERS_DIR / "node"

_STEP_TIMEOUT = 600.0

_PY_CHECK = (
    "import json, importlib.metadata as m, http_parser.parser, http_parser.http as h, pymesos.process\n"
    "assert h.HttpParser is http_parser.parser.HttpParser, 'pure-python http_parser fallback in use'\n"
    "print(json.dumps({'pymesos': m.version('pymesos'), 'http-parser': m.version('http-parser')}))\n"
)


class PeerSetupError(RuntimeError):
    """A peer environment could not be built; the message says which step failed and why."""


@dataclass
class PeerStatus:
    """What the peer environment holds after :func:`ensure_peers`."""

    python: Path | None = None
    """The peers venv's interpreter, when pymesos is usable."""
    node: str | None = None
    """The ``node`` executable, when ``mesos-framework`` 0.5.3 is usable."""
    node_modules: Path | None = None
    """``bench/.peers/node/node_modules``."""
    versions: dict[str, str] = field(default_factory=dict)
    """Installed peer versions (``pymesos``, ``http-parser``, ``mesos-framework``, ``node``)."""
    problems: list[str] = field(default_factory=list)
    """One line per peer that could not be installed."""


def venv_python() -> Path:
    """The interpreter of the peers venv (it may not exist yet)."""
    return VENV_DIR / "bin" / "python"


def _run(cmd: Sequence[str | os.PathLike[str]], *, cwd: Path | None = None, what: str) -> str:
    logger.info("peers: %s", what)
    try:
        proc = subprocess.run(
            [os.fspath(c) for c in cmd],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_STEP_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PeerSetupError(f"{what}: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise PeerSetupError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def _check_pymesos() -> dict[str, str] | None:
    py = venv_python()
    if not py.exists():
        return None
    try:
        proc = subprocess.run(
            [os.fspath(py), "-c", _PY_CHECK], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    found: dict[str, str] = json.loads(proc.stdout)
    if found.get("pymesos") != PYMESOS_VERSION or found.get("http-parser") != HTTP_PARSER_VERSION:
        return None
    return found


def ensure_pymesos(*, force: bool = False) -> dict[str, str]:
    """Make ``bench/.peers/venv`` hold pymesos with a compiled http-parser; return their versions."""
    if not force and (found := _check_pymesos()) is not None:
        return found
    if force and VENV_DIR.exists():
        shutil.rmtree(VENV_DIR)
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    if not venv_python().exists():
        _run([sys.executable, "-m", "venv", VENV_DIR], what="create the peers venv")
    pip: list[str | os.PathLike[str]] = [
        venv_python(),
        "-m",
        "pip",
        "--disable-pip-version-check",
        "--no-input",
        "-q",
    ]
    _run([*pip, "install", CYTHON_SPEC, "wheel", "setuptools<70"], what="install Cython 0.29 and wheel")
    with tempfile.TemporaryDirectory(prefix="http-parser-", dir=PEERS_DIR) as tmp:
        work = Path(tmp)
        _run(
            [
                *pip,
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                work,
                f"http-parser=={HTTP_PARSER_VERSION}",
            ],
            what=f"download the http-parser {HTTP_PARSER_VERSION} sdist",
        )
        sdists = list(work.glob("http[-_]parser-*.tar.gz"))
        if len(sdists) != 1:
            raise PeerSetupError(f"expected one http-parser sdist in {work}, found {sdists}")
        with tarfile.open(sdists[0]) as tar:
            tar.extractall(work, filter="data")
        src = work / f"http-parser-{HTTP_PARSER_VERSION}"
        pkg = src / "http_parser"
        # The shipped parser.c (old Cython) reaches into CPython internals that 3.11 moved;
        # regenerate it, and drop the stray prebuilt macOS binary that the sdist carries.
        (pkg / "parser.c").unlink(missing_ok=True)
        for stray in pkg.glob("*.so"):
            stray.unlink()
        _run(
            [
                VENV_DIR / "bin" / "cython",
                "-X",
                "language_level=2",
                pkg / "parser.pyx",
                "-o",
                pkg / "parser.c",
            ],
            what="regenerate http_parser/parser.c with Cython 0.29",
        )
        _run([*pip, "install", "--no-build-isolation", src], what="build and install http-parser")
    _run([*pip, "install", f"pymesos=={PYMESOS_VERSION}"], what=f"install pymesos {PYMESOS_VERSION}")
    found = _check_pymesos()
    if found is None:
        raise PeerSetupError("pymesos installed but does not import with the compiled http-parser")
    return found


def _mf_version() -> str | None:
    manifest = NODE_DIR / "node_modules" / "mesos-framework" / "package.json"
    try:
        version = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return str(version)


def ensure_mesos_framework_js(*, force: bool = False) -> dict[str, str]:
    """Make ``bench/.peers/node`` hold the JavaScript ``mesos-framework``; return versions."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        raise PeerSetupError("node and npm are needed for the JavaScript mesos-framework peer")
    node_version = _run([node, "--version"], what="node --version").strip()
    if force or _mf_version() != MESOS_FRAMEWORK_JS_VERSION:
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        manifest = NODE_DIR / "package.json"
        if not manifest.exists():
            manifest.write_text(json.dumps({"name": "mesos-framework-bench-peers", "private": True}) + "\n")
        _run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--loglevel=error",
                f"mesos-framework@{MESOS_FRAMEWORK_JS_VERSION}",
            ],
            cwd=NODE_DIR,
            what=f"npm install mesos-framework@{MESOS_FRAMEWORK_JS_VERSION}",
        )
        if _mf_version() != MESOS_FRAMEWORK_JS_VERSION:
            raise PeerSetupError(f"npm did not install mesos-framework {MESOS_FRAMEWORK_JS_VERSION}")
    return {"mesos-framework": MESOS_FRAMEWORK_JS_VERSION, "node": node_version}


def ensure_peers(*, force: bool = False, python: bool = True, node: bool = True) -> PeerStatus:
    """Install (or just check) every peer; failures are recorded in ``problems``, not raised."""
    status = PeerStatus()
    if python:
        try:
            status.versions.update(ensure_pymesos(force=force))
            status.python = venv_python()
        except PeerSetupError as exc:
            status.problems.append(f"pymesos: {exc}")
    if node:
        try:
            status.versions.update(ensure_mesos_framework_js(force=force))
            status.node = shutil.which("node")
            status.node_modules = NODE_DIR / "node_modules"
        except PeerSetupError as exc:
            status.problems.append(f"mesos-framework (JS): {exc}")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the peer environment and print what it holds."""
    parser = argparse.ArgumentParser(prog="python -m bench.peers.install", description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if already installed")
    parser.add_argument("--only", choices=["python", "node"], help="install only one of the peers")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    status = ensure_peers(force=args.force, python=args.only != "node", node=args.only != "python")
    for name, version in sorted(status.versions.items()):
        print(f"{name} {version}")
    for problem in status.problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    return 1 if status.problems else 0


if __name__ == "__main__":
    sys.exit(main())
