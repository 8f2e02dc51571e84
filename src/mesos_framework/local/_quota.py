"""Quota on the local master: ``GET_QUOTA``, ``UPDATE_QUOTA``, ``SET_QUOTA``, ``REMOVE_QUOTA``.

It follows Mesos 1.11 (``src/master/quota_handler.cpp``, ``src/master/quota.cpp``):

* a role's quota has *guarantees* and *limits*, each a map from a scalar
  resource name to an amount (``QuotaConfig``); ``SET_QUOTA``'s legacy
  ``QuotaRequest`` sets both to its ``guarantee``, ``REMOVE_QUOTA`` and an
  ``UPDATE_QUOTA`` without amounts bring a role back to the default (no
  guarantee, no limit);
* ``UPDATE_QUOTA`` is checked as Mesos does (role, amounts, guarantees within
  limits, a limit below what the role already consumes and guarantees beyond
  the cluster's capacity need ``force``) and answered ``400`` with Mesos's text;
  ``SET_QUOTA`` answers ``409`` when the guarantees overcommit the cluster;
* ``GET_QUOTA`` reports every configured role, with the legacy ``infos`` beside
  the ``configs``;
* the allocator (`fit`) never offers a role beyond its limits, offers roles
  whose guarantees are not met first and keeps back from other roles what those
  guarantees still need; after an update, offers breaking the new limits, and
  offers of other roles needed for the new guarantees, are rescinded.

A role's *consumption* is, as Mesos's ``consumedQuota``: what is reserved to it
(or to its sub-roles), in use or not, plus the unreserved resources allocated to
it (by tasks and by outstanding offers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mesos_framework.local._codec import TERMINAL_STATES as TERMINAL
from mesos_framework.local.resources import Resources
from mesos_framework.protocol._schema import master_pb2, mesos_pb2, quota_pb2

if TYPE_CHECKING:
    from mesos_framework.local.master import Master

__all__ = ["CALLS", "Headroom", "fit", "operator_call"]

Call = master_pb2.Call
CALLS = frozenset({Call.GET_QUOTA, Call.UPDATE_QUOTA, Call.SET_QUOTA, Call.REMOVE_QUOTA})

Amounts = dict[str, float]

_EXABYTE_MB = 1024**4
_TRILLION = 1000**4


@dataclass
class Quota:
    """One role's quota: guarantees and limits by resource name."""

    guarantees: Amounts = field(default_factory=dict)
    limits: Amounts = field(default_factory=dict)


def _quotas(master: Master) -> dict[str, Quota]:
    return master.registry.quotas  # (kept in the registry: they survive a master fail-over)


# ------------------------------------------------------------------ quantities


def _fmt(value: float) -> str:
    """A scalar as Mesos prints it (15 significant digits, no trailing zeros)."""
    return f"{value:.15g}"


def _show(amounts: Amounts) -> str:
    """``ResourceQuantities``/``ResourceLimits`` as Mesos prints them: ``cpus:1; mem:128``."""
    if not amounts:
        return "{}"
    return "; ".join(f"{n}:{_fmt(v)}" for n, v in sorted(amounts.items()))


def _show_map(amounts: Amounts) -> str:
    """A protobuf ``Map<string, Value.Scalar>`` as Mesos prints it: ``{ cpus: 1 }``."""
    return "{ " + ", ".join(f"{n}: {_fmt(v)}" for n, v in amounts.items()) + " }"


def _quantities(amounts: Amounts) -> Amounts:
    """``ResourceQuantities``: zero amounts are left out."""
    return {n: v for n, v in amounts.items() if v > 0}


def _contains(left: Amounts, right: Amounts) -> bool:
    """``ResourceQuantities::contains``: every amount of ``right`` is within ``left``."""
    return all(left.get(n, 0.0) >= v - 1e-9 for n, v in right.items() if v > 0)


def _within_limits(limits: Amounts, amounts: Amounts) -> bool:
    """``ResourceLimits::contains(quantities)``: no limited amount exceeded (no limit = none)."""
    return all(amounts.get(n, 0.0) <= limit + 1e-9 for n, limit in limits.items())


def _add(left: Amounts, right: Amounts) -> Amounts:
    out = dict(left)
    for n, v in right.items():
        out[n] = out.get(n, 0.0) + v
    return out


def _scalars(res: Resources) -> Amounts:
    """The scalar amounts of a bag, by name (revocable resources are not tracked locally)."""
    out: Amounts = {}
    for key, value in res.items.items():
        if isinstance(value, int):
            out[key.name] = out.get(key.name, 0.0) + value / 1000
    return _quantities(out)


def _in_subtree(role: str, of: str) -> bool:
    return role == of or role.startswith(of + "/")


def consumed(master: Master, role: str, *, offered: bool = True) -> Amounts:
    """What a role consumes of quota: reservations to it (or below), used or not, plus the
    unreserved resources allocated to it. Mesos's master (``consumedQuota``, which the quota
    calls check) counts tasks' and executors' resources as allocated (``offered=False``); its
    allocator also counts outstanding offers (the default, for allocation)."""
    total = Resources()
    for entry in master.agents.values():
        for key, value in entry.total.unallocated().items.items():
            if key.role != "*" and _in_subtree(key.role, role):
                total._add(key, value)
    allocated = Resources()
    for fw in master.frameworks.values():
        for task in fw.tasks.values():
            if task.state not in TERMINAL and task.agent_id in master.agents:
                allocated += task.resources
        for agent_id, executors in fw.executors.items():
            if agent_id in master.agents:
                for info in executors.values():
                    allocated += Resources.from_protos(info.resources)
    if offered:
        for offer in master.offers.values():
            allocated += offer.resources
    for key, value in allocated.items.items():
        if key.role == "*" and _in_subtree(key.allocation, role):
            total._add(key, value)
    return _scalars(total)


def _offered(master: Master, role: str) -> Amounts:
    total = Resources()
    for offer in master.offers.values():
        if _in_subtree(offer.role, role):
            total += offer.resources
    return _scalars(total)


def _capacity(master: Master) -> Amounts:
    total = Resources()
    for entry in master.agents.values():
        total += entry.total.unallocated()
    return _scalars(total)


# ------------------------------------------------------------------ validation


def _scalar_problem(value: float) -> str | None:
    """``validateInputScalarValue``."""
    if math.isinf(value):
        return "Infinite values not supported"
    if math.isnan(value):
        return "NaN not supported"
    if value != 0 and abs(value) < 2.2250738585072014e-308:
        return "Subnormal values not supported"
    if value < 0:
        return "Negative values not supported"
    return None


def _validate_config(config: quota_pb2.QuotaConfig) -> str | None:
    """``quota::validate(QuotaConfig)``."""
    from mesos_framework.local._master_validation import validate_role  # noqa: PLC0415

    if not config.HasField("role"):
        return "'QuotaConfig.role' must be set"
    problem = validate_role(config.role)
    if problem is not None:
        return f"Invalid 'QuotaConfig.role': {problem}"
    guarantees = {n: s.value for n, s in config.guarantees.items()}
    limits = {n: s.value for n, s in config.limits.items()}
    for what, amounts in (("guarantees", guarantees), ("limits", limits)):
        for name, value in amounts.items():
            big = _EXABYTE_MB if name in ("mem", "disk") else _TRILLION
            if value > big:
                unit = "1 exabyte" if name in ("mem", "disk") else "1 trillion"
                return (
                    f"Invalid 'QuotaConfig.{what}': {{'{name}': {_fmt(value)}}} is invalid: "
                    f"values greater than {unit} ({big}) are not supported"
                )
    for kind, amounts in (("guarantee", guarantees), ("limit", limits)):
        for name, value in amounts.items():
            problem = _scalar_problem(value)
            if problem is not None:
                return f"Invalid {kind} configuration {{'{name}': {_fmt(value)}}}: {problem}"
    if not _within_limits(limits, _quantities(guarantees)):
        return (
            f"'QuotaConfig.guarantees' {_show_map(guarantees)} is not contained within "
            f"the 'QuotaConfig.limits' {_show_map(limits)}"
        )
    return None


def _resource_problem(resources: list[mesos_pb2.Resource]) -> str | None:
    """``Resources::validate`` of each resource."""
    for r in resources:
        if not r.name:
            return "Empty resource name"
        if r.type == mesos_pb2.Value.SCALAR:
            if not r.HasField("scalar") or r.HasField("ranges") or r.HasField("set"):
                return "Invalid scalar resource"
            if r.scalar.value <= 0:
                return "Invalid scalar resource: value <= 0"
    return None


def _tree_error(quotas: dict[str, Quota]) -> str | None:
    """``QuotaTree::validate``: a parent's guarantees hold the sum of its children's."""
    for parent, quota in sorted(quotas.items()):
        children: Amounts = {}
        for role, q in quotas.items():
            if role.startswith(parent + "/") and "/" not in role[len(parent) + 1 :]:
                children = _add(children, q.guarantees)
        children = _quantities(children)
        if not _contains(quota.guarantees, children):
            return (
                f"Invalid quota configuration. Parent role '{parent.rpartition('/')[2]}' with guarantees "
                f"({_show(_quantities(quota.guarantees))}) does not contain the sum of its children's "
                f"guarantees ({_show(children)})"
            )
    return None


def _total_guarantees(quotas: dict[str, Quota]) -> Amounts:
    total: Amounts = {}
    for role, quota in quotas.items():
        if "/" not in role:
            total = _add(total, quota.guarantees)
    return _quantities(total)


# ------------------------------------------------------------------ the calls


def operator_call(master: Master, call: master_pb2.Call) -> tuple[int, dict[str, Any] | str]:
    """Answer one of the quota calls (`CALLS`)."""
    if call.type == Call.GET_QUOTA:
        return 200, {"type": "GET_QUOTA", "get_quota": {"status": _status(master)}}
    if call.type == Call.UPDATE_QUOTA:
        return _update(master, call.update_quota)
    if call.type == Call.SET_QUOTA:
        return _set(master, call.set_quota.quota_request)
    return _remove(master, call.remove_quota.role)


def _status(master: Master) -> dict[str, Any]:
    infos: list[dict[str, Any]] = []
    configs: list[dict[str, Any]] = []
    for role, quota in sorted(_quotas(master).items()):
        guarantees = _quantities(quota.guarantees)
        info: dict[str, Any] = {"role": role}
        if guarantees:
            info["guarantee"] = [
                {"name": n, "type": "SCALAR", "scalar": {"value": v}} for n, v in sorted(guarantees.items())
            ]
        infos.append(info)
        config: dict[str, Any] = {"role": role}
        if guarantees:
            config["guarantees"] = {n: {"value": v} for n, v in sorted(guarantees.items())}
        if quota.limits:
            config["limits"] = {n: {"value": v} for n, v in sorted(quota.limits.items())}
        configs.append(config)
    status: dict[str, Any] = {}
    if infos:
        status["infos"] = infos
        status["configs"] = configs
    return status


def _update(master: Master, update: master_pb2.Call.UpdateQuota) -> tuple[int, str]:
    for config in update.quota_configs:
        if "/" in config.role:
            return 400, f"Updating quota on nested role '{config.role}' is not supported yet"
        problem = _validate_config(config)
        if problem is not None:
            return 400, f"Invalid QuotaConfig: {problem}"
    for config in update.quota_configs:
        limits = {n: s.value for n, s in config.limits.items()}
        used = consumed(master, config.role, offered=False)
        if not _within_limits(limits, used) and not update.force:
            return 400, (
                f"Invalid QuotaConfig: Role '{config.role}' is already consuming '{_show(used)}'; "
                f"this is more than the requested limits '{_show(limits)}' "
                "(use 'force' flag to bypass this check)"
            )
    after = dict(_quotas(master))
    for config in update.quota_configs:
        after[config.role] = Quota(
            {n: s.value for n, s in config.guarantees.items()}, {n: s.value for n, s in config.limits.items()}
        )
    problem = _tree_error(after)
    if problem is not None:
        return 400, f"Invalid QuotaConfig: {problem}"
    total, capacity = _total_guarantees(after), _capacity(master)
    if not _contains(capacity, total) and not update.force:
        return 400, (
            f"Invalid QuotaConfig: total quota guarantees '{_show(total)}' exceed cluster capacity "
            f"'{_show(capacity)}' (use 'force' flag to bypass this check)"
        )
    quotas = _quotas(master)
    for config in update.quota_configs:
        quotas[config.role] = after[config.role]
    for config in update.quota_configs:
        _rescind_for(master, config.role, after[config.role])
    master.allocate_soon()
    return 200, ""


def _set(master: Master, request: quota_pb2.QuotaRequest) -> tuple[int, str]:
    from mesos_framework.local._master_validation import validate_role  # noqa: PLC0415

    problem = _resource_problem(list(request.guarantee))
    if problem is not None:
        return 400, f"Failed to validate set quota request: QuotaInfo with invalid resource: {problem}"
    prefix = "Failed to validate set quota request: "
    if not request.HasField("role"):
        return 400, prefix + "QuotaInfo must specify a role"
    role_problem = validate_role(request.role)
    if role_problem is not None:
        return 400, prefix + f"QuotaInfo with invalid role: {role_problem}"
    if not request.guarantee:
        return 400, prefix + "QuotaInfo with empty 'guarantee'"
    names: set[str] = set()
    for r in request.guarantee:
        if r.reservations or (r.HasField("role") and r.role != "*"):
            return 400, prefix + "QuotaInfo must not contain any ReservationInfo"
        if r.HasField("disk"):
            return 400, prefix + "QuotaInfo must not contain DiskInfo"
        if r.HasField("revocable"):
            return 400, prefix + "QuotaInfo must not contain RevocableInfo"
        if r.type != mesos_pb2.Value.SCALAR:
            return 400, prefix + "QuotaInfo must not include non-scalar resources"
        if r.name in names:
            return 400, prefix + f"QuotaInfo contains duplicate resource name '{r.name}'"
        names.add(r.name)
    quotas = _quotas(master)
    if request.role in quotas:
        return 400, prefix + f"Cannot set quota for role '{request.role}' which already has quota"
    amounts = {r.name: r.scalar.value for r in request.guarantee}
    after = {**quotas, request.role: Quota(dict(amounts), dict(amounts))}
    problem = _tree_error(after)
    if problem is not None:
        return 400, prefix + problem
    if "/" in request.role:
        return 400, f"Setting quota on nested role '{request.role}' is not supported yet"
    if not request.force:
        total, capacity = _total_guarantees(after), _capacity(master)
        if not _contains(capacity, total):
            return 409, (
                "Quota guarantees overcommit the cluster (use 'force' to bypass this check): "
                f"Total quota guarantees '{_show(total)}' exceed cluster capacity '{_show(capacity)}'"
            )
    quotas[request.role] = after[request.role]
    _rescind_for(master, request.role, after[request.role])
    master.allocate_soon()
    return 200, ""


def _remove(master: Master, role: str) -> tuple[int, str]:
    quotas = _quotas(master)
    if role not in quotas:
        return 400, f"Failed to remove quota: Role '{role}' has no quota set"
    del quotas[role]
    master.allocate_soon()
    return 200, ""


def _rescind_for(master: Master, role: str, quota: Quota) -> None:
    """Best effort, as Mesos: offers of the role beyond its limits, then other roles' offers
    until what the role consumes and is offered, plus what was rescinded, covers its guarantees."""
    used = _add(consumed(master, role, offered=False), _offered(master, role))
    if not _within_limits(quota.limits, used):
        for oid, offer in sorted(master.offers.items()):
            if _within_limits(quota.limits, used):
                break
            if _in_subtree(offer.role, role):
                for name, amount in _scalars(offer.resources).items():
                    used[name] = used.get(name, 0.0) - amount
                master.rescind(oid)
    guarantees = _quantities(quota.guarantees)
    rescinded: Amounts = {}
    for oid, offer in sorted(master.offers.items()):
        if _contains(_add(rescinded, used), guarantees):
            break
        if _in_subtree(offer.role, role):
            continue
        rescinded = _add(rescinded, _scalars(offer.resources))
        master.rescind(oid)


# ------------------------------------------------------------------ the allocator


@dataclass
class Headroom:
    """What one allocation round may still hand out without breaking quota.

    ``spare`` is the unreserved amount, by name, that roles without an unmet
    guarantee may take before the unmet guarantees of the others could no
    longer be met (``None``: no guarantee is unmet).
    """

    unmet: dict[str, Amounts] = field(default_factory=dict)
    """Per role with quota: what its guarantees still lack."""
    spare: Amounts | None = None

    @classmethod
    def start(cls, master: Master, available: Resources) -> Headroom:
        """The headroom at the start of a round; ``available`` is what the round may offer."""
        room = cls()
        for role, quota in _quotas(master).items():
            used = consumed(master, role)
            lack = {n: v - used.get(n, 0.0) for n, v in quota.guarantees.items()}
            lack = {n: v for n, v in lack.items() if v > 1e-9}
            if lack:
                room.unmet[role] = lack
        if room.unmet:
            free = _scalars(Resources({k: v for k, v in available.items.items() if k.role == "*"}))
            needed: Amounts = {}
            for lack in room.unmet.values():
                needed = _add(needed, lack)
            room.spare = {n: free.get(n, 0.0) - v for n, v in needed.items()}
        return room

    def first(self, role: str) -> int:
        """Sort key: roles with unmet guarantees first (Mesos's quota stage)."""
        return 0 if role in self.unmet else 1

    def took(self, role: str, offered: Resources) -> None:
        """Account for an offer made to ``role``."""
        unreserved = _scalars(Resources({k: v for k, v in offered.items.items() if k.role == "*"}))
        lack = self.unmet.get(role)
        for name, amount in unreserved.items():
            covered = 0.0
            if lack is not None and name in lack:
                covered = min(lack[name], amount)
                lack[name] -= covered
            if self.spare is not None and name in self.spare:
                self.spare[name] -= amount - covered


def fit(master: Master, role: str, offered: Resources, room: Headroom) -> Resources:
    """What of ``offered`` (free resources the role may use) may go to ``role``.

    Reserved resources go whole (they count as consumed already); unreserved
    scalars shrink to what is left under the role's limits and, for a role
    without an unmet guarantee, to the round's spare headroom.
    """
    top = role.partition("/")[0]
    quota = _quotas(master).get(top)
    caps: Amounts = {}
    if quota is not None and quota.limits:
        used = consumed(master, top)
        caps = {n: max(0.0, limit - used.get(n, 0.0)) for n, limit in quota.limits.items()}
    if room.spare is not None and role not in room.unmet:
        for name, spare in room.spare.items():
            caps[name] = max(0.0, min(caps.get(name, math.inf), spare))
    if not caps:
        return offered
    out = Resources()
    for key, value in sorted(offered.items.items(), key=lambda kv: kv[0]):
        if key.role != "*" or key.name not in caps or not isinstance(value, int):
            out._add(key, value)
            continue
        allowed = math.floor(caps[key.name] * 1000 + 1e-6)
        take = min(value, allowed)
        if take > 0:
            out._add(key, take)
            caps[key.name] -= take / 1000
    return out
