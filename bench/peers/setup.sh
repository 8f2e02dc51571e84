#!/bin/sh
# Build the peers' environment under bench/.peers/ (pymesos 0.3.15 with a rebuilt http-parser in a
# separate venv; mesos-framework 0.5.3 for node). Idempotent; pass --force to rebuild.
set -eu
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
exec "$PY" -m bench.peers.install "$@"
