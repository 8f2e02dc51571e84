"""The peer libraries the benchmarks compare against, kept out of the package's dependencies.

- :mod:`bench.peers.install` (or ``bench/peers/setup.sh``) builds a separate environment under
  ``bench/.peers/``: a Python venv with pymesos 0.3.15 (and a rebuilt ``http-parser``) and a
  node_modules tree with the JavaScript ``mesos-framework`` 0.5.3.
- ``pymesos_decode.py`` / ``mf_decode.js`` drive each peer's event-stream parser over a recorded
  stream (used by :mod:`bench.peer_decode`).
- ``pymesos_e2e.py`` / ``mf_e2e.js`` are each peer's scheduler launching N short tasks on a running
  master; :mod:`bench.peers.e2e` starts the clusters and collects their reports.

The drivers run inside the peers' environments as subprocesses and import nothing from this project.
"""
