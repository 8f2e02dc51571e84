"""The master's validation of frameworks, offers and tasks, with Mesos 1.11's messages.

Each function answers None when the input is fine, else the message Mesos gives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from mesos_framework.local._limits import resources_problem
from mesos_framework.local._master_model import AgentEntry, Cap, Framework, framework_roles, has_cap
from mesos_framework.local._model import Offer
from mesos_framework.local._task_validation import validate_task_checks
from mesos_framework.local.resources import Resources, describe
from mesos_framework.protocol._schema import mesos_pb2, scheduler_pb2

__all__ = [
    "task_resources",
    "validate_framework_info",
    "validate_framework_update",
    "validate_id",
    "validate_offers",
    "validate_role",
    "validate_task",
    "without_alloc",
]


def validate_id(value: str) -> str | None:
    """Mesos's ``validateID``: None if fine, else the error message."""
    if not value:
        return "ID must not be empty"
    if len(value) > 255:
        return "ID must not be greater than 255 characters"
    if value in (".", ".."):
        return f"'{value}' is disallowed"
    if any(ord(c) < 32 or ord(c) == 127 or c in "/\\" for c in value):
        return f"'{value}' contains invalid characters"
    return None


def validate_role(role: str) -> str | None:
    """Mesos's role name rules: None if valid, else the error message."""
    if role == "*":
        return None
    if role.startswith("/"):
        return f"Role '{role}' cannot start with a slash"
    if role.endswith("/"):
        return f"Role '{role}' cannot end with a slash"
    if "//" in role:
        return f"Role '{role}' cannot contain two adjacent slashes"
    parts = [p for p in role.split("/") if p]
    if not parts:
        return "Role names cannot be the empty string"
    for part in parts:
        if part in (".", "..", "*"):
            return f"Role '{role}' cannot include '{part}' as a component"
        if part.startswith("-"):
            return f"Role component '{part}' is invalid because it starts with a dash"
        if any(c in part for c in "\x08\x0b\x0c\t\n\r \x7f"):
            return f"Role component '{part}' is invalid because it contains backspace or whitespace"
    return None


def validate_framework_info(info: mesos_pb2.FrameworkInfo) -> str | None:
    """FrameworkInfo checks done after the stream opened (ERROR event)."""
    multi = has_cap(info, Cap.MULTI_ROLE)
    if multi and info.HasField("role"):
        return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"
    if not multi and info.roles:
        return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable"
    if multi:
        seen: set[str] = set()
        dups = [r for r in info.roles if r in seen or seen.add(r)]  # type: ignore[func-returns-value]
        if dups:
            return "'FrameworkInfo.roles' contains duplicate items: [ " + ", ".join(dups) + " ]"
        for role in info.roles:
            err = validate_role(role)
            if err:
                return f"'FrameworkInfo.roles' contains invalid role: {err}"
    else:
        err = validate_role(info.role)
        if err:
            return f"'FrameworkInfo.role' is not a valid role: {err}"
    if info.HasField("id"):
        err = validate_id(info.id.value)
        if err:
            return f"'FrameworkInfo.id' is invalid: {err}"
    timeout = info.failover_timeout
    if not math.isfinite(timeout) or abs(timeout) * 1e9 >= 2**63:
        return f"The framework failover_timeout ({_stringify_double(timeout)}) is invalid"
    return None


def _stringify_double(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if math.isnan(x):
        return "nan"
    return f"{x:g}"


def validate_framework_update(fw: Framework, upd: scheduler_pb2.Call.UpdateFramework) -> str | None:
    """Mesos's checks of an UPDATE_FRAMEWORK call: None, or the ``400`` body."""
    info = upd.framework_info
    error = validate_framework_info(info)
    if error:
        return f"Supplied FrameworkInfo is not valid: {error}"
    old = fw.info
    if old.HasField("principal") and info.principal != old.principal:
        return "FrameworkInfo update is not valid: Changing framework's principal is not allowed."
    if info.user != old.user:
        return (
            "FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; "
            f"attempted to update from '{old.user}' to '{info.user}'"
        )
    if info.checkpoint != old.checkpoint:
        return (
            "FrameworkInfo update is not valid: Updating 'FrameworkInfo.checkpoint' is unsupported; "
            f"attempted to update from '{str(old.checkpoint).lower()}' "
            f"to '{str(info.checkpoint).lower()}'"
        )
    roles = set(framework_roles(info))
    if not set(upd.suppressed_roles) <= roles:
        return (
            "'UpdateFramework' call is not valid: Suppressed roles {"
            + ", ".join(sorted(set(upd.suppressed_roles) - roles))
            + "} are not contained in the set of roles"
        )
    return None


def validate_offers(offers: Mapping[str, Offer], fw: Framework, ids: list[str]) -> str | None:
    """Mesos's offer checks of an ACCEPT: None, or why the offers are invalid."""
    if not ids:
        return "No offers specified"
    seen: set[str] = set()
    for oid in ids:
        if oid in seen:
            return f"Duplicate offer {oid} in offer list"
        seen.add(oid)
    for oid in ids:
        if oid not in offers:
            return f"Offer {oid} is no longer valid"
    for oid in ids:
        offer = offers[oid]
        if offer.framework_id != fw.id:
            return (
                f"Offer {oid} has invalid framework {offer.framework_id} while framework {fw.id} is expected"
            )
    roles = {offers[o].role for o in ids}
    if len(roles) > 1:
        return (
            "Aggregated offers must be allocated to the same role. Offer " + ids[0] + " uses a different role"
        )
    agents = {offers[o].agent_id for o in ids}
    if len(agents) > 1:
        return (
            "Aggregated offers must belong to one single agent. Offer " + ids[0] + " uses a different agent"
        )
    return None


def validate_task(fw: Framework, entry: AgentEntry, task: mesos_pb2.TaskInfo) -> str | None:
    """Mesos's per-task checks of a LAUNCH (``TASK_ERROR`` messages)."""
    err = validate_id(task.task_id.value)
    if err:
        return f"Task has an invalid TaskID: {err}"
    if task.task_id.value in fw.tasks:
        return f"Task has duplicate ID: {task.task_id.value}"
    if task.task_id.value in fw.unreachable_tasks:
        return f"Task reuses the ID of an unreachable task: {task.task_id.value}"
    if task.agent_id.value != entry.id:
        return f"Task uses invalid agent {task.agent_id.value} while agent {entry.id} is expected"
    if task.HasField("kill_policy") and task.kill_policy.grace_period.nanoseconds < 0:
        return "Task's 'kill_policy.grace_period' must be non-negative"
    if task.HasField("max_completion_time") and task.max_completion_time.nanoseconds < 0:
        return "Task's `max_completion_time` must be non-negative"
    err = validate_task_checks(task)
    if err:
        return err
    if not task.resources:
        return "Task uses no resources"
    err = resources_problem([*task.resources, *task.executor.resources])
    if err:
        return err
    for r in task.resources:
        if r.type == mesos_pb2.Value.RANGES and any(rg.begin > rg.end for rg in r.ranges.range):
            return f"Task uses invalid resources: Invalid ranges resource {r.name}"
    if task.limits:
        extra = set(task.limits) - {"cpus", "mem"}
        if extra:
            return "Only cpus and mem may be included in a task's resource limits"
        res = Resources.from_protos(task.resources)
        if "cpus" in task.limits and task.limits["cpus"].value < res.scalar("cpus"):
            return "The cpu limit must be greater than or equal to the cpu request"
        if "mem" in task.limits and task.limits["mem"].value < res.scalar("mem"):
            return "The memory limit must be greater than or equal to the memory request"
    if task.HasField("executor") == task.HasField("command"):
        return "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
    if task.HasField("executor"):
        ex = task.executor
        err = validate_id(ex.executor_id.value)
        if err:
            return f"Task has an invalid ExecutorID '{ex.executor_id.value}': {err}"
        if ex.HasField("framework_id") and ex.framework_id.value != fw.id:
            return (
                f"ExecutorInfo has an invalid FrameworkID (Actual: {ex.framework_id.value} "
                f"vs Expected: {fw.id})"
            )
        if ex.HasField("type") and ex.type != mesos_pb2.ExecutorInfo.CUSTOM:
            return "'ExecutorInfo.type' must be 'CUSTOM'"
        if not ex.HasField("command"):
            return "'ExecutorInfo.command' must be set"
        if any(r.HasField("shared") for r in ex.resources):
            shown = describe(Resources.from_protos(ex.resources))
            return f"Executor resources {shown} should not contain any shared resources"
        existing = fw.executors.get(entry.id, {}).get(ex.executor_id.value)
        if existing is not None:
            probe = mesos_pb2.ExecutorInfo()
            probe.CopyFrom(ex)
            if not probe.HasField("framework_id"):
                probe.framework_id.value = fw.id
            if without_alloc(probe) != without_alloc(existing):
                return (
                    f"ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID)."
                    f" ------------------------------------------------------------ "
                    f"Existing ExecutorInfo: {existing} "
                    f"------------------------------------------------------------ "
                    f"Task's ExecutorInfo: {probe}"
                )
    return None


def task_resources(role: str, task: mesos_pb2.TaskInfo) -> tuple[Resources, str | None]:
    """A task's resources in ``role``, or why their allocation roles do not fit."""
    alloc_roles = {r.allocation_info.role for r in task.resources if r.HasField("allocation_info")}
    if alloc_roles - {role}:
        return Resources(), "The resources have multiple allocation roles" if len(alloc_roles) > 1 else (
            "The resources are not allocated to a role"
        )
    return Resources.from_protos(task.resources, role), None


def without_alloc(ex: mesos_pb2.ExecutorInfo) -> bytes:
    """An ExecutorInfo without allocation roles, serialized: for comparing executors."""
    probe = mesos_pb2.ExecutorInfo()
    probe.CopyFrom(ex)
    for r in probe.resources:
        r.ClearField("allocation_info")
    return probe.SerializeToString(deterministic=True)
