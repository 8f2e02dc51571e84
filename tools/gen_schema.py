"""Generate the Mesos v1 protobuf schema modules from the protocol inventory.

The inventory (``shared/docs/mesos-v1-messages.txt``) lists every message and
enum of ``mesos.v1``, ``mesos.v1.scheduler`` and ``mesos.v1.executor`` with
field names, numbers, labels, types and explicit defaults, as upstream Mesos
defines them; ``tools/mesos-v1-operator-messages.txt`` (written by
``tools/proto_inventory.py``) does the same for the operator API's files
(``master``, ``agent``, ``quota``, ``maintenance``, ``allocator``).  This
script turns them into ``FileDescriptorProto`` objects and writes, for each
proto file, a module that registers the descriptors in the package's private
descriptor pool plus a ``.pyi`` stub for type checkers.

Usage::

    python tools/gen_schema.py [INVENTORY] [--operator-inventory FILE] [--check]

``--check`` regenerates into memory and fails if the committed files differ.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "mesos_framework" / "protocol" / "_schema"
DEFAULT_INVENTORY = ROOT.parent / "shared" / "docs" / "mesos-v1-messages.txt"
OPERATOR_INVENTORY = ROOT / "tools" / "mesos-v1-operator-messages.txt"
MESOS = "mesos/v1/mesos.proto"
DURATION = "google/protobuf/duration.proto"

FILES = {
    "mesos.v1": ("mesos/v1/mesos.proto", "mesos_pb2", []),
    "mesos.v1.scheduler": ("mesos/v1/scheduler/scheduler.proto", "scheduler_pb2", ["mesos/v1/mesos.proto"]),
    "mesos.v1.executor": ("mesos/v1/executor/executor.proto", "executor_pb2", ["mesos/v1/mesos.proto"]),
    "mesos.v1.allocator": ("mesos/v1/allocator/allocator.proto", "allocator_pb2", [MESOS]),
    "mesos.v1.maintenance": (
        "mesos/v1/maintenance/maintenance.proto",
        "maintenance_pb2",
        [MESOS, "mesos/v1/allocator/allocator.proto"],
    ),
    "mesos.v1.quota": ("mesos/v1/quota/quota.proto", "quota_pb2", [MESOS]),
    "mesos.v1.master": (
        "mesos/v1/master/master.proto",
        "master_pb2",
        [
            DURATION,
            MESOS,
            "mesos/v1/maintenance/maintenance.proto",
            "mesos/v1/scheduler/scheduler.proto",
            "mesos/v1/quota/quota.proto",
        ],
    ),
    "mesos.v1.agent": ("mesos/v1/agent/agent.proto", "agent_pb2", [MESOS]),
}
# Messages of protobuf's own well-known files that the Mesos files use.
EXTERNAL = {"google.protobuf.Duration": (DURATION, "duration_pb2")}
# Names of the oneof groups (the inventory marks members, not group names).
ONEOF_NAMES = {
    "mesos.v1.Volume.Source.CSIVolume.VolumeCapability": "access_type",
    "mesos.v1.scheduler.AttributeConstraint.Selector": "selector",
    "mesos.v1.scheduler.AttributeConstraint.Predicate": "predicate",
}
SCALARS = {
    "double": descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE,
    "float": descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT,
    "int32": descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    "int64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    "uint32": descriptor_pb2.FieldDescriptorProto.TYPE_UINT32,
    "uint64": descriptor_pb2.FieldDescriptorProto.TYPE_UINT64,
    "bool": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    "bytes": descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
}
PY_SCALAR = {
    "double": "float",
    "float": "float",
    "int32": "int",
    "int64": "int",
    "uint32": "int",
    "uint64": "int",
    "bool": "bool",
    "string": "str",
    "bytes": "bytes",
}
# Defaults the shared inventory renders wrongly, fixed to upstream's value. Its parser cuts a
# string default that is itself the word "default": mesos.proto has
# ``optional string name = 2 [default = "default"];`` in CSIPluginInfo (1.11.0 and the
# inventory's commit c1b42f79d157), which the inventory shows as ``(default ")``.
# Each entry: (message, field) -> (the inventory's broken value, upstream's value).
DEFAULT_FIXES = {("mesos.v1.CSIPluginInfo", "name"): ('""', '"default"')}
# Methods mesos_framework.protocol attaches to every message class (see _message.py).
HELPER_NAMES = {"from_dict", "from_json", "to_dict", "to_json"}
FIELD_RE = re.compile(
    r"^(?P<prefix>[!*|]|\{\})?(?P<name>\w+):(?P<type>[\w.]+|map<[\w.]+,[\w.]+>)=(?P<num>\d+)"
    r"(?:\(default (?P<default>[^)]*)\))?(?P<dep>~)?$"
)


@dataclass
class Field:
    name: str
    type: str
    number: int
    label: str  # "required" | "optional" | "repeated" | "oneof" | "map"
    default: str | None
    deprecated: bool


@dataclass
class Enum:
    name: str
    values: list[tuple[str, int, bool]]


@dataclass
class Message:
    name: str
    fields: list[Field] = field(default_factory=list)


def parse_inventory(text: str) -> tuple[dict[str, Message], dict[str, Enum]]:
    messages: dict[str, Message] = {}
    enums: dict[str, Enum] = {}
    for raw in text.splitlines():
        if raw[:2] not in ("M ", "E "):
            continue
        head, _, body = raw.partition(":") if "]:" in raw else (raw, "", "")
        if "]:" in raw:
            head, body = raw.split("]:", 1)
            head += "]"
        kind, name = head.split()[0], head.split()[1]
        # The inventory renders [default = ""] as (default "): restore it.
        tokens = _tokens(body.strip().replace('(default ")', '(default "")'))
        if kind == "E":
            values = []
            for tok in tokens:
                dep = tok.endswith("~")
                vname, num = tok.rstrip("~").split("=")
                values.append((vname, int(num), dep))
            enums[name] = Enum(name, values)
        else:
            msg = Message(name)
            for tok in tokens:
                m = FIELD_RE.match(tok)
                if not m:
                    raise SystemExit(f"cannot parse field {tok!r} of {name}")
                prefix = m["prefix"] or ""
                label = {"!": "required", "*": "repeated", "|": "oneof", "{}": "map"}.get(prefix, "optional")
                default = m["default"]
                fix = DEFAULT_FIXES.get((name, m["name"]))
                if fix is not None and default == fix[0]:
                    default = fix[1]
                msg.fields.append(Field(m["name"], m["type"], int(m["num"]), label, default, bool(m["dep"])))
            messages[name] = msg
    return messages, enums


def _tokens(body: str) -> list[str]:
    """Split on spaces, except inside a quoted default value."""
    out: list[str] = []
    cur = ""
    quoted = False
    depth = 0
    for ch in body:
        if ch == '"':
            quoted = not quoted
        elif ch == "(" and not quoted:
            depth += 1
        elif ch == ")" and not quoted:
            depth -= 1
        if ch == " " and not quoted and not depth:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def package_of(name: str) -> str:
    for pkg in sorted(FILES, key=len, reverse=True):
        if name.startswith(pkg + ".") and name[len(pkg) + 1 :][:1].isupper():
            return pkg
    raise SystemExit(f"no package for {name}")


def resolve(ref: str, scope: str, symbols: set[str]) -> str:
    """Resolve a type reference as protoc does: innermost scope outwards."""
    parts = scope.split(".")
    while True:
        cand = ".".join([*parts, ref]) if parts else ref
        if cand in symbols:
            return cand
        if not parts:
            raise SystemExit(f"cannot resolve {ref} from {scope}")
        parts.pop()


def camel(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in name.split("_"))


def build(
    messages: dict[str, Message], enums: dict[str, Enum]
) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    symbols = set(messages) | set(enums) | set(EXTERNAL)
    fdps: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    protos: dict[str, descriptor_pb2.DescriptorProto | descriptor_pb2.FileDescriptorProto] = {}
    for pkg, (fname, _, deps) in FILES.items():
        fdp = descriptor_pb2.FileDescriptorProto(name=fname, package=pkg, syntax="proto2", dependency=deps)
        fdps[pkg] = fdp
        protos[pkg] = fdp
    # Declaration order of the inventory is preserved (parents precede children).
    for name in messages:
        parent = name.rsplit(".", 1)[0]
        container = protos[parent]
        new = (
            container.message_type.add()
            if isinstance(container, descriptor_pb2.FileDescriptorProto)
            else container.nested_type.add()
        )
        new.name = name.rsplit(".", 1)[1]
        protos[name] = new
    for name, enum in enums.items():
        parent = name.rsplit(".", 1)[0]
        container = protos[parent]
        e = container.enum_type.add()
        e.name = name.rsplit(".", 1)[1]
        for vname, num, dep in enum.values:
            v = e.value.add(name=vname, number=num)
            if dep:
                v.options.deprecated = True
    F = descriptor_pb2.FieldDescriptorProto
    for name, msg in messages.items():
        d = protos[name]
        assert isinstance(d, descriptor_pb2.DescriptorProto)
        oneof_index = None
        for f in msg.fields:
            fd = d.field.add(name=f.name, number=f.number, json_name=f.name)
            if f.label == "map":
                key_t, val_t = f.type[4:-1].split(",")
                entry = d.nested_type.add(name=camel(f.name) + "Entry")
                entry.options.map_entry = True
                for i, (fname_, t) in enumerate((("key", key_t), ("value", val_t)), start=1):
                    ef = entry.field.add(name=fname_, number=i, label=F.LABEL_OPTIONAL, json_name=fname_)
                    _set_type(ef, t, name, symbols, messages)
                fd.label = F.LABEL_REPEATED
                fd.type = F.TYPE_MESSAGE
                fd.type_name = f".{name}.{entry.name}"
            else:
                fd.label = {"required": F.LABEL_REQUIRED, "repeated": F.LABEL_REPEATED}.get(
                    f.label, F.LABEL_OPTIONAL
                )
                _set_type(fd, f.type, name, symbols, messages)
                if f.label == "oneof":
                    if oneof_index is None:
                        oneof_index = len(d.oneof_decl)
                        d.oneof_decl.add(name=ONEOF_NAMES[name])
                    fd.oneof_index = oneof_index
            if f.default is not None:
                fd.default_value = _default(f.default, fd)
            if f.deprecated:
                fd.options.deprecated = True
    return fdps


def _set_type(
    fd: descriptor_pb2.FieldDescriptorProto,
    t: str,
    scope: str,
    symbols: set[str],
    messages: dict[str, Message],
) -> None:
    if t in SCALARS:
        fd.type = SCALARS[t]
        return
    full = resolve(t, scope, symbols)
    fd.type_name = "." + full
    fd.type = (
        descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
        if full in messages or full in EXTERNAL
        else descriptor_pb2.FieldDescriptorProto.TYPE_ENUM
    )


def _default(raw: str, fd: descriptor_pb2.FieldDescriptorProto) -> str:
    if raw.startswith('"'):
        return raw[1:-1]
    if fd.type == descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE:
        return repr(float(raw))
    return raw


HEADER = """# Generated by tools/gen_schema.py from the Mesos v1 protocol inventory. DO NOT EDIT.
# Regenerate with: python tools/gen_schema.py
"""


def render_module(fdp: descriptor_pb2.FileDescriptorProto, deps: list[str]) -> str:
    data = fdp.SerializeToString(deterministic=True)
    lines = [HEADER, "from google.protobuf.internal import builder as _builder\n"]
    lines.append("from mesos_framework.protocol._schema._pool import POOL as _POOL\n")
    external = False
    for dep in deps:
        if dep == DURATION:
            lines.append("from google.protobuf import duration_pb2 as _duration_pb2\n")
            external = True
            continue
        mod = next(m for f, m, _ in FILES.values() if f == dep)
        lines.append(f"from mesos_framework.protocol._schema import {mod} as _{mod}  # noqa: F401\n")
    if external:
        # The private pool gets its own copy of the well-known file (this module runs once).
        lines.append("\n_POOL.AddSerializedFile(_duration_pb2.DESCRIPTOR.serialized_pb)\n")
    lines.append("\n_SERIALIZED = (\n")
    for i in range(0, len(data), 76):
        lines.append(f"    {data[i : i + 76]!r}\n")
    lines.append(")\n")
    lines.append("DESCRIPTOR = _POOL.AddSerializedFile(_SERIALIZED)\n")
    lines.append("_builder.BuildMessageAndEnumDescriptors(DESCRIPTOR, globals())\n")
    mod = next(m for f, m, _ in FILES.values() if f == fdp.name)
    lines.append(
        "_builder.BuildTopDescriptorsAndMessages("
        f'DESCRIPTOR, "mesos_framework.protocol._schema.{mod}", globals())\n'
    )
    lines.append(_render_all(fdp))
    return "".join(lines)


def _public_names(fdp: descriptor_pb2.FileDescriptorProto) -> list[str]:
    """Top-level names a star import of the module brings in (messages, enums, enum values)."""
    names = [m.name for m in fdp.message_type]
    for e in fdp.enum_type:
        names.append(e.name)
        names.extend(v.name for v in e.value)
    return names


def _render_all(fdp: descriptor_pb2.FileDescriptorProto) -> str:
    body = "".join(f"    {n!r},\n" for n in _public_names(fdp))
    return f"\n__all__ = [\n{body}]\n"


def render_stub(
    fdp: descriptor_pb2.FileDescriptorProto, all_fdps: dict[str, descriptor_pb2.FileDescriptorProto]
) -> str:
    pkg = fdp.package
    out = [
        HEADER.replace("#", "#", 1),
        "from collections.abc import Iterable, Mapping\n",
        "from typing import Any\n\n",
        "from google.protobuf.descriptor import Descriptor, FileDescriptor\n",
        "from google.protobuf.internal.containers import (\n"
        "    MessageMap, RepeatedCompositeFieldContainer, RepeatedScalarFieldContainer, ScalarMap,\n)\n",
        "from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper\n",
        "from mesos_framework.protocol._schema._message import MesosMessage\n",
    ]
    for dep in FILES[pkg][2]:
        if dep == DURATION:
            out.append("from google.protobuf import duration_pb2 as _duration_pb2\n")
        else:
            mod = next(m for f, m, _ in FILES.values() if f == dep)
            out.append(f"from mesos_framework.protocol._schema import {mod}\n")
    out.append("\nDESCRIPTOR: FileDescriptor\n")

    index: dict[str, descriptor_pb2.DescriptorProto] = {}

    def walk(prefix: str, d: descriptor_pb2.DescriptorProto) -> None:
        index[prefix] = d
        for n in d.nested_type:
            walk(prefix + "." + n.name, n)

    for f in all_fdps.values():
        for m in f.message_type:
            walk(f"{f.package}.{m.name}", m)

    def pyref(full: str) -> str:
        full = full.lstrip(".")
        if full in EXTERNAL:
            return f"_{EXTERNAL[full][1]}.{full.rsplit('.', 1)[1]}"
        ref_pkg = package_of(full) if not full.endswith("Entry") else pkg
        local = full[len(ref_pkg) + 1 :]
        if ref_pkg == pkg:
            return local
        return f"{FILES[ref_pkg][1]}.{local}"

    def enum_block(e: descriptor_pb2.EnumDescriptorProto, ind: str) -> list[str]:
        # A wrapper class per enum lets type checkers see ``TaskState.TASK_RUNNING``.
        wrapper = f"_{e.name}Enum"
        lines = [f"{ind}class {wrapper}(EnumTypeWrapper):\n"]
        for v in e.value:
            lines.append(f"{ind}    {v.name}: int\n")
        lines.append(f"{ind}{e.name}: {wrapper}\n")
        for v in e.value:
            lines.append(f"{ind}{v.name}: int\n")
        return lines

    def msg_block(d: descriptor_pb2.DescriptorProto, full: str, ind: str) -> list[str]:
        lines = [f"{ind}class {d.name}(MesosMessage):\n", f"{ind}    DESCRIPTOR: Descriptor\n"]
        for e in d.enum_type:
            lines += enum_block(e, ind + "    ")
        for n in d.nested_type:
            if n.options.map_entry:
                continue
            lines += msg_block(n, f"{full}.{n.name}", ind + "    ")
        F = descriptor_pb2.FieldDescriptorProto
        params = []
        for f in d.field:
            if (
                f.type == F.TYPE_MESSAGE
                and f.type_name.lstrip(".") in index
                and index[f.type_name.lstrip(".")].options.map_entry
            ):
                entry = index[f.type_name.lstrip(".")]
                kt = PY_SCALAR[_scalar_name(entry.field[0].type)]
                vf = entry.field[1]
                if vf.type == F.TYPE_MESSAGE:
                    vt = pyref(vf.type_name)
                    ann = f"MessageMap[{kt}, {vt}]"
                    init = f"Mapping[{kt}, {vt} | Mapping[str, Any]] | None"
                else:
                    vt = PY_SCALAR[_scalar_name(vf.type)]
                    ann = f"ScalarMap[{kt}, {vt}]"
                    init = f"Mapping[{kt}, {vt}] | None"
            else:
                if f.type == F.TYPE_MESSAGE:
                    base = pyref(f.type_name)
                    init_base = f"{base} | Mapping[str, Any]"
                elif f.type == F.TYPE_ENUM:
                    base = "int"
                    init_base = "int | str"
                else:
                    base = PY_SCALAR[_scalar_name(f.type)]
                    init_base = "float" if base == "float" else base
                if f.label == F.LABEL_REPEATED:
                    cont = (
                        "RepeatedCompositeFieldContainer"
                        if f.type == F.TYPE_MESSAGE
                        else "RepeatedScalarFieldContainer"
                    )
                    ann = f"{cont}[{base}]"
                    init = f"Iterable[{init_base}] | None"
                else:
                    ann = base
                    init = f"{init_base} | None"
            name = f.name
            lines.append(f"{ind}    @property\n{ind}    def {name}(self) -> {ann}: ...\n")
            if f.label != F.LABEL_REPEATED and f.type != F.TYPE_MESSAGE:
                lines.append(
                    f"{ind}    @{name}.setter\n{ind}    def {name}(self, value: {ann}) -> None: ...\n"
                )
            if name in HELPER_NAMES:
                raise SystemExit(f"field {full}.{name} collides with a helper attached to every message")
            params.append(f"{name}: {init} = ...")
        if params:
            lines.append(f"{ind}    def __init__(self, *, {', '.join(params)}) -> None: ...\n")
        else:
            lines.append(f"{ind}    def __init__(self) -> None: ...\n")
        return lines

    for e in fdp.enum_type:
        out += enum_block(e, "")
    for m in fdp.message_type:
        out.append("\n")
        out += msg_block(m, f"{pkg}.{m.name}", "")
    out.append(_render_all(fdp))
    return "".join(out)


def _scalar_name(t: int) -> str:
    return next(k for k, v in SCALARS.items() if v == t)


def main() -> int:
    ap = argparse.ArgumentParser(description="Generate the Mesos v1 schema modules and stubs.")
    ap.add_argument("inventory", nargs="?", default=str(DEFAULT_INVENTORY), help="mesos-v1-messages.txt")
    ap.add_argument(
        "--operator-inventory",
        default=str(OPERATOR_INVENTORY),
        help="the operator API's inventory (tools/mesos-v1-operator-messages.txt)",
    )
    ap.add_argument("--check", action="store_true", help="report stale generated files; exit 1 if any")
    args = ap.parse_args()
    text = ""
    for inventory in (Path(args.inventory), Path(args.operator_inventory)):
        if not inventory.is_file():
            print(f"protocol inventory not found: {inventory}", file=sys.stderr)
            return 2
        text += inventory.read_text() + "\n"
    messages, enums = parse_inventory(text)
    fdps = build(messages, enums)
    outputs: dict[Path, str] = {}
    for pkg, (_fname, mod, deps) in FILES.items():
        outputs[OUT / f"{mod}.py"] = render_module(fdps[pkg], deps)
        outputs[OUT / f"{mod}.pyi"] = render_stub(fdps[pkg], fdps)
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for p in stale:
            print(f"stale generated file: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale else 0
    for p, text in outputs.items():
        p.write_text(text)
    print(f"{len(messages)} messages, {len(enums)} enums -> {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
