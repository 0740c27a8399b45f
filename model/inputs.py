"""Reading what the user gives: bytes, text and YAML, with limits (issue: "bad input gets one clear message").

* `read_text(path)`: a regular file or standard input ("-"), or a pipe named
  explicitly, at most `limit` bytes; never a device or a folder (reading
  /dev/zero would never end).  Decoded strictly as UTF-8 (a byte-order mark
  accepted); UTF-16 and other encodings are named in the message.
* `load_yaml_documents(text)`: PyYAML's safe loader, refusing duplicate keys
  (as kubectl's strict decoding does) and documents whose aliases would expand
  past `MAX_NODES` nodes or nest past `MAX_DEPTH` levels (a "billion laughs"
  file), before anything is built from them.  A scalar its tag cannot read
  (`!!int x`, `!!timestamp 2001-13-45`, an integer of more digits than Python
  converts) is a YAML error with its line, as any other.
* `printable(text)`: a message with the control characters of what the user
  wrote (a field named with an escape sequence, a newline in a value) shown
  escaped, so that every message stays one line and cannot drive the terminal.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from typing import Any, List

import yaml

MAX_BYTES = 16 * 1024 * 1024       # a scenario: a real cluster's manifests are a few MiB at most
MAX_NODES = 1_000_000              # YAML nodes once aliases are expanded
MAX_DEPTH = 200                    # nesting of mappings and sequences
MAX_DIGITS = 4000                  # an integer written with more digits (Python converts at most 4,300)
_CHUNK = 1 << 20                   # files are read a MiB at a time: a read of `limit` bytes would reserve them all


# C0 and C1 control characters but tab, the line and paragraph separators, bidirectional overrides and
# isolates, and lone surrogates (from a JSON "\\udc80" escape): none may reach the terminal as it is.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with the characters above written as escapes (\\n, \\x1b, \\u202e): one line, inert on a terminal."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class InputError(ValueError):
    """Input that cannot be read as given: one message naming the file and what is wrong."""

    def __str__(self) -> str:
        return printable(super().__str__())


def read_text(path: str, limit: int = MAX_BYTES, what: str = "scenario") -> str:
    """The text of `path` ("-": standard input), checked and decoded as described in the module docstring."""
    if path == "-":
        data = _read_upto(sys.stdin.buffer, limit + 1)
        shown = "standard input"
    else:
        shown = path
        try:
            st = os.stat(path)
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror}") from None
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{path}: is a folder, not a {what} file")
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
            raise InputError(f"{path}: is not a regular file (a device or a socket): give a {what} file")
        if stat.S_ISREG(st.st_mode) and st.st_size > limit:
            raise InputError(f"{path}: {st.st_size:,} bytes, more than the {limit:,} a {what} may have")
        try:
            with open(path, "rb") as f:
                data = _read_upto(f, limit + 1)
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror}") from None
    if len(data) > limit:
        raise InputError(f"{shown}: more than the {limit:,} bytes a {what} may have")
    return decode(data, shown)


def _read_upto(f, n: int) -> bytes:
    """At most `n` bytes of `f`, read a MiB at a time (f.read(n) would allocate n bytes at once, 256 MiB for
    a trace of a few KiB)."""
    parts = []
    while n > 0:
        chunk = f.read(min(n, _CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def decode(data: bytes, shown: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{shown}: is UTF-16; save it as UTF-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{shown}: not UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); "
                         "save it as UTF-8") from None


class Located(dict):
    """A YAML mapping that remembers where it was written: `line` (1-based) of the mapping, `lines[key]` of
    each key, so that a message about a field can name its line."""

    __slots__ = ("line", "lines")


class LocatedList(list):
    """A YAML sequence that remembers its `line` and each item's (`lines[i]`)."""

    __slots__ = ("line", "lines")


def line_of(raw: Any, path) -> int:
    """The line of the deepest value of `raw` along `path` (keys and indices) that was read from YAML; 0 when
    none was."""
    line = getattr(raw, "line", 0)
    node = raw
    for step in path:
        lines = getattr(node, "lines", None)
        if lines is None:
            break
        try:
            line = lines[step] or line
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
    return line


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, refusing a key that appears twice in one mapping; mappings and sequences come out as
    `Located` and `LocatedList`, which know their lines."""

    def construct_located_map(self, node):
        data = Located()
        data.line = node.start_mark.line + 1
        data.lines = {}
        yield data
        value = self.construct_mapping(node)
        data.update(value)
        for key_node, _ in node.value:
            try:
                data.lines.setdefault(self.construct_object(key_node, deep=True), key_node.start_mark.line + 1)
            except TypeError:
                pass

    def construct_located_seq(self, node):
        data = LocatedList()
        data.line = node.start_mark.line + 1
        data.lines = [item.start_mark.line + 1 for item in node.value]
        yield data
        data.extend(self.construct_sequence(node))

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue
                if key in seen:
                    mark = key_node.start_mark
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {str(key)[:60]!r} (first at line {seen[key] + 1})", mark)
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_located_map)
_StrictLoader.add_constructor("tag:yaml.org,2002:seq", _StrictLoader.construct_located_seq)


def _checked_scalar(name: str, construct):
    """PyYAML's constructor for a scalar tag, its ValueError, IndexError, KeyError... (`!!int x`,
    `!!bool maybe`, `!!timestamp 2001-02-30`, `!!int` alone) turned into a YAML error at the scalar."""
    def checked(loader, node):
        value = node.value if isinstance(node.value, str) else ""
        digits = sum(c.isdigit() for c in value) if name == "int" else 0
        if digits > MAX_DIGITS:
            raise yaml.constructor.ConstructorError(None, None, f"an integer of {digits:,} digits: too large to read",
                                                    node.start_mark)
        try:
            return construct(loader, node)
        except yaml.YAMLError:
            raise
        except (ValueError, IndexError, KeyError, AttributeError, TypeError, OverflowError):
            shown = value if len(value) <= 40 else value[:37] + "..."
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.constructor.ConstructorError(None, None, f"{shown!r} is not a valid {tag}",
                                                    node.start_mark) from None
    return checked


for _name in ("int", "float", "bool", "timestamp", "binary"):
    _StrictLoader.add_constructor(f"tag:yaml.org,2002:{_name}",
                                  _checked_scalar(_name, getattr(yaml.SafeLoader, f"construct_yaml_{_name}")))


def _check_size(root) -> None:
    """Refuse a composed document whose aliases expand past MAX_NODES nodes or nest past MAX_DEPTH."""
    size = {}
    depth_of = {}
    stack = [(root, 0, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            children = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in children)
            if size[key] > MAX_NODES:
                raise InputError(f"line {root.start_mark.line + 1}: the document's aliases expand past "
                                 f"{MAX_NODES:,} values: refused (a YAML alias bomb?)")
            continue
        if key in size:
            continue
        if depth > MAX_DEPTH:
            raise InputError(f"line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
        if depth_of.get(key) is not None:
            continue   # already scheduled below an ancestor: a cycle (recursive alias) or a shared node
        depth_of[key] = depth
        stack.append((node, depth, True))
        for c in _children(node):
            if id(c) not in size:
                if depth_of.get(id(c)) is not None and id(c) not in size:
                    raise InputError(f"line {c.start_mark.line + 1}: a recursive alias: refused")
                stack.append((c, depth + 1, False))


def _children(node) -> List[Any]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_yaml_documents(text: str) -> List[Any]:
    """Every document of `text` as Python values, after the checks above (yaml.YAMLError or InputError)."""
    loader = _StrictLoader(text)
    try:
        out = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                _check_size(node)
            out.append(loader.construct_document(node) if node is not None else None)
        return out
    finally:
        loader.dispose()
