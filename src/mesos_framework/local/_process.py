"""Process control for the local cluster's containers: find and signal process trees.

A container here is an executor's session: the executor (which starts a new
session), its tasks' process groups and everything they start; /proc tells
who is whose child and who belongs to which session.
"""

from __future__ import annotations

import contextlib
import os
import signal

__all__ = ["descendants", "kill_tree", "kill_trees"]


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, session id) of every process, from /proc."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            table[int(entry)] = (int(fields[1]), int(fields[3]))
        except (OSError, ValueError, IndexError):
            continue
    return table


def descendants(pid: int, children: dict[int, list[int]] | None = None) -> list[int]:
    """Every descendant of ``pid`` still attached to it (``children``: ppid -> pids, if scanned)."""
    if children is None:
        children = _children(_proc_table())
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _children(table: dict[int, tuple[int, int]]) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for child, (ppid, _sid) in table.items():
        children.setdefault(ppid, []).append(child)
    return children


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a container: the process, its descendants, their process groups,
    and everything left in the session it leads (orphans included)."""
    kill_trees({pid}, sig=sig)


def kill_trees(roots: set[int], ended: set[int] | None = None, *, sig: int = signal.SIGKILL) -> None:
    """`kill_tree()` for many containers with one /proc scan.

    ``roots`` are running executors (a scan of /proc reads the stat file of every process on the
    machine, so one scan for a batch matters when thousands of tasks end together). ``ended`` are
    executors already reaped: only what is left in the sessions they led is signalled, never
    their pid itself (which may belong to a new process by now).
    """
    ended = ended or set()
    if not roots and not ended:
        return
    own_pid, own_group, own_session = os.getpid(), os.getpgrp(), os.getsid(0)
    table = _proc_table()
    children = _children(table)
    sessions: dict[int, list[int]] = {}
    for p, (_ppid, sid) in table.items():
        sessions.setdefault(sid, []).append(p)
    pids: set[int] = set()
    for root in roots:
        pids.add(root)
        pids.update(descendants(root, children))
        if root != own_session:
            pids.update(sessions.get(root, ()))
    left = {p for leader in ended - {own_session} for p in sessions.get(leader, ())}
    groups: set[int] = set()
    for p in pids:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(p))
    # the roots (the executors) first, so that they cannot report their tasks' deaths
    for root in roots - {own_pid}:
        with contextlib.suppress(OSError):
            os.kill(root, sig)
    for g in groups - {own_group}:
        with contextlib.suppress(OSError):
            os.killpg(g, sig)
    for p in (pids | left) - {own_pid}:
        with contextlib.suppress(OSError):
            os.kill(p, sig)
