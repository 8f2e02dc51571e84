"""Write a protocol inventory (the format tools/gen_schema.py reads) from .proto files.

The inventory lists every message and enum of the given proto files with
field names, numbers, labels, types, explicit defaults and deprecation marks,
nested types under dotted names, in declaration order.  Comments are dropped.

Usage::

    python tools/proto_inventory.py MESOS_CHECKOUT COMMIT FILE.proto... > inventory.txt

FILE paths are relative to MESOS_CHECKOUT/include (e.g. ``mesos/v1/master/master.proto``).
``--check INVENTORY`` compares the result with an existing inventory instead
(used to validate this parser against shared/docs/mesos-v1-messages.txt).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[A-Za-z_][\w.]*|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[{}\[\]=;<>,()]')


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return "\n".join(_cut_line_comment(line) for line in text.splitlines())


def _cut_line_comment(line: str) -> str:
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif not quoted and line.startswith("//", i):
            return line[:i]
    return line


@dataclass
class Decl:
    kind: str  # "M" or "E"
    name: str
    items: list[str] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _TOKEN.findall(_strip_comments(text))
        self.i = 0
        self.package = ""
        self.decls: list[Decl] = []

    def peek(self) -> str:
        return self.toks[self.i]

    def take(self, expect: str | None = None) -> str:
        tok = self.toks[self.i]
        if expect is not None and tok != expect:
            raise SystemExit(f"expected {expect!r}, found {tok!r} at token {self.i}")
        self.i += 1
        return tok

    def skip_statement(self) -> None:
        while self.take() != ";":
            pass

    def parse(self) -> None:
        while self.i < len(self.toks):
            tok = self.peek()
            if tok == "package":
                self.take()
                self.package = self.take()
                self.take(";")
            elif tok in ("syntax", "import", "option"):
                self.skip_statement()
            elif tok == ";":  # an empty statement (upstream has a stray one)
                self.take()
            elif tok == "message":
                self.message(self.package)
            elif tok == "enum":
                self.enum(self.package)
            else:
                raise SystemExit(f"unexpected {tok!r} at top level")

    def options(self) -> dict[str, str]:
        opts: dict[str, str] = {}
        if self.peek() != "[":
            return opts
        self.take("[")
        while True:
            key = self.take()
            self.take("=")
            opts[key] = self.take()
            if self.take() == "]":
                return opts

    def enum(self, scope: str) -> None:
        self.take("enum")
        decl = Decl("E", f"{scope}.{self.take()}")
        self.decls.append(decl)
        self.take("{")
        while self.peek() != "}":
            if self.peek() in ("option", "reserved"):
                self.skip_statement()
                continue
            name = self.take()
            self.take("=")
            num = self.take()
            opts = self.options()
            self.take(";")
            decl.items.append(f"{name}={num}" + ("~" if opts.get("deprecated") == "true" else ""))
        self.take("}")

    def message(self, scope: str) -> None:
        self.take("message")
        decl = Decl("M", f"{scope}.{self.take()}")
        self.decls.append(decl)
        self.take("{")
        self.body(decl, oneof=False)

    def body(self, decl: Decl, *, oneof: bool) -> None:
        while self.peek() != "}":
            tok = self.peek()
            if tok == "message":
                self.message(decl.name)
            elif tok == "enum":
                self.enum(decl.name)
            elif tok in ("option", "reserved", "extensions"):
                self.skip_statement()
            elif tok == ";":
                self.take()
            elif tok == "oneof":
                self.take()
                self.take()  # the group's name (gen_schema.py keeps these in ONEOF_NAMES)
                self.take("{")
                self.body(decl, oneof=True)
            else:
                decl.items.append(self.field(oneof))
        self.take("}")

    def field(self, oneof: bool) -> str:
        prefix = "|" if oneof else ""
        label = self.peek()
        if label in ("optional", "required", "repeated"):
            self.take()
            prefix = {"optional": "", "required": "!", "repeated": "*"}[label]
        ftype = self.take()
        if ftype == "map":
            self.take("<")
            key = self.take()
            self.take(",")
            value = self.take()
            self.take(">")
            ftype = f"map<{key},{value}>"
            prefix = "{}"
        name = self.take()
        self.take("=")
        num = self.take()
        opts = self.options()
        self.take(";")
        out = f"{prefix}{name}:{ftype}={num}"
        if "default" in opts:
            default = opts["default"]
            # The inventory renders an empty string default as a lone quote.
            shown = '"' if default == '""' else default
            out += f"(default {shown})"
        if opts.get("deprecated") == "true":
            out += "~"
        return out


def _decl_line(decl: Decl) -> str:
    head = f"{decl.kind} {decl.name} [{len(decl.items)}]"
    return f"{head}: {' '.join(decl.items)}" if decl.items else head


def inventory(root: Path, files: list[str], commit: str) -> str:
    sections: list[str] = []
    totals: list[str] = []
    n_msgs = n_enums = 0
    for rel in files:
        parser = _Parser((root / "include" / rel).read_text())
        parser.parse()
        msgs = sum(d.kind == "M" for d in parser.decls)
        enums = len(parser.decls) - msgs
        n_msgs += msgs
        n_enums += enums
        totals.append(f"{parser.package}: {msgs}/{enums}")
        lines = [f"## include/{rel}  (package {parser.package}): {msgs} messages, {enums} enums"]
        lines += [_decl_line(d) for d in parser.decls]
        sections.append("\n".join(lines))
    header = [
        "# Mesos v1 protobuf inventory: every message and enum of the operator API proto files",
        f"# Snapshot: apache/mesos commit {commit}.",
        "# Written by tools/proto_inventory.py; nested types use dotted names.",
        "# Legend: as in mesos-v1-messages.txt (M message, E enum; ! required, * repeated,",
        "#   | oneof member, {} map field; (default X) explicit proto2 default; ~ deprecated;",
        "#   types as written in the .proto).",
        f"#   Totals: {n_msgs} messages, {n_enums} enums ({', '.join(totals)}).",
    ]
    return "\n".join(header) + "\n\n" + "\n\n".join(sections) + "\n"


def _decl_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:2] in ("M ", "E ")]


def main() -> int:
    ap = argparse.ArgumentParser(description="Write a protocol inventory from .proto files.")
    ap.add_argument("checkout", type=Path, help="a Mesos source tree (its include/ is read)")
    ap.add_argument("commit", help="the upstream commit the tree is at (goes in the header)")
    ap.add_argument("files", nargs="+", help="proto files relative to include/")
    ap.add_argument("--check", type=Path, help="compare the declarations with this inventory")
    args = ap.parse_args()
    text = inventory(args.checkout, args.files, args.commit)
    if args.check:
        ours, theirs = _decl_lines(text), _decl_lines(args.check.read_text())
        diff = [(a, b) for a, b in zip(ours, theirs, strict=False) if a != b]
        for a, b in diff[:20]:
            print(f"ours:   {a}\ntheirs: {b}", file=sys.stderr)
        if len(ours) != len(theirs):
            print(f"{len(ours)} declarations here, {len(theirs)} there", file=sys.stderr)
        return 1 if diff or len(ours) != len(theirs) else 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
