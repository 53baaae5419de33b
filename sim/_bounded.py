"""Bounded readers: the one way miglab takes bytes, YAML and JSON from outside.

Think of a loading dock with a scale, a measuring tape and a list of approved suppliers:
every crate (a scenario file, an inventory, standard input, an upload, a dashboard link,
a QMP line) is weighed before it is opened, only regular parcels are accepted (no pipes,
devices or ``/proc`` files that never end), and what is inside is unpacked with limits on
how deep it nests and how far YAML aliases may multiply it. Files that an *input* names
(a policy file, say) are fetched only from the approved shelves: ``data/`` and folders
the caller lists explicitly.

    >>> load_yaml("vcpus: 1:30\\nmode: 010", "example")
    {'vcpus': '1:30', 'mode': 10}
    >>> loads_json('{"id": NaN}', "qmp")
    Traceback (most recent call last):
    ...
    sim._exceptions.InputError: qmp: not valid JSON: NaN is not a JSON number

Rules (issue 12): sizes are capped by counting bytes read, never by trusting ``st_size``;
YAML follows the 1.2 core schema for numbers (``010`` is ten, ``1:30`` is text, no
timestamps), refuses duplicate keys, keeps every key as text, caps nesting at
:data:`MAX_DEPTH` and the alias-expanded size at :data:`MAX_NODES`; JSON refuses ``NaN``,
``Infinity``, numbers that overflow and duplicate keys; JSON written out is strict
(:func:`dumps_json`).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import yaml

from sim._exceptions import InputError, MiglabError

__all__ = [
    "MAX_DEPTH",
    "MAX_INPUT_BYTES",
    "MAX_NODES",
    "decode_utf8",
    "dumps_json",
    "finite_json",
    "load_yaml",
    "load_yaml_all",
    "loads_json",
    "read_bytes",
    "read_stdin",
    "read_text",
    "resolve_named_file",
]

MAX_INPUT_BYTES: Final = 1 << 20
"""The largest input accepted: 1 MiB, far above any scenario, policy or inventory miglab
ships (the largest, a 1,000-VM inventory, is ~60 KiB)."""
MAX_DEPTH: Final = 64
"""Deepest nesting of lists and mappings accepted, aliases expanded (scenarios use 4)."""
MAX_NODES: Final = 200_000
"""Most YAML values accepted after alias expansion: a 1,000-VM inventory has ~20,000, an
alias bomb of 388 bytes has 10⁹."""
MAX_NUMBER_DIGITS: Final = 64
"""Longest number literal accepted; 2⁶⁴ has 20 digits, the largest float ~310."""

ErrorType = type[MiglabError]


# --------------------------------------------------------------------------- bytes


def read_bytes(path: str | Path, *, what: str = "file", limit: int = MAX_INPUT_BYTES,
               error: ErrorType = InputError) -> bytes:
    """The content of a regular file, refusing more than ``limit`` bytes.

    The size is checked by reading at most ``limit + 1`` bytes, so ``/dev/zero`` and
    ``/proc`` files (whose ``st_size`` is 0) are refused as too large, not read forever.
    The file is opened without blocking and must be a regular file: a FIFO, a device or
    a directory is refused before anything is read.

    Raises:
        MiglabError: of type ``error``, naming the path and what is accepted.
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as err:
        raise error(f"{p}: cannot read the {what}: {err.strerror}") from err
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise error(f"{p}: {kind}; give a regular {what}")
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(limit + 1)
    except OSError as err:
        raise error(f"{p}: cannot read the {what}: {err.strerror}") from err
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise error(f"{p}: larger than the {limit} bytes accepted for a {what}")
    return data


def decode_utf8(data: bytes, where: str, *, error: ErrorType = InputError) -> str:
    """UTF-8 text from ``data``, naming the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{where}: not UTF-8 text (byte {err.start} is 0x{data[err.start]:02x}); "
                    f"save the file as UTF-8") from err


def read_text(path: str | Path, *, what: str = "file", limit: int = MAX_INPUT_BYTES,
              error: ErrorType = InputError) -> str:
    """:func:`read_bytes` then :func:`decode_utf8`."""
    return decode_utf8(read_bytes(path, what=what, limit=limit, error=error), str(path),
                       error=error)


def read_stdin(*, what: str = "input", limit: int = MAX_INPUT_BYTES,
               error: ErrorType = InputError) -> str:
    """Standard input as UTF-8 text, refusing more than ``limit`` bytes."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a replaced text stream (tests, notebooks)
        text = sys.stdin.read(limit + 1)
        if len(text.encode("utf-8", "surrogatepass")) > limit:
            raise error(f"standard input: larger than the {limit} bytes accepted for a {what}")
        return text
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise error(f"standard input: larger than the {limit} bytes accepted for a {what}")
    return decode_utf8(data, "standard input", error=error)


# ------------------------------------------------------------------ named files


def resolve_named_file(name: object, *, roots: Iterable[Path], field: str, shelves: str,
                       suffixes: tuple[str, ...] = (".yaml", ".yml", ".json"),
                       error: ErrorType = InputError) -> Path:
    """The file that an input names, found only inside ``roots``.

    A bare name (``nova-strict``) or a relative path is looked up in each root in turn,
    with or without one of ``suffixes``. Absolute paths, ``..`` and names that resolve
    (through symlinks) outside every root are refused. The message echoes the name as
    given and nothing of any file, so a refusal leaks nothing; ``shelves`` describes the
    roots for messages (``"data/policies"``), so a server does not print its own paths.

    Raises:
        MiglabError: of type ``error``.
    """
    roots = [Path(r).resolve() for r in roots]
    if not isinstance(name, str) or not name.strip() or "\x00" in name or len(name) > 255:
        raise error(f"{field}: expected the name of a file in {shelves} (at most 255 "
                    f"characters), got {name!r:.80}")
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        raise error(f"{field}: {name!r} is outside the data folders; name a file in "
                    f"{shelves} (absolute paths and '..' are not accepted)")
    for root in roots:
        for candidate in (root / rel, *(root / f"{rel}{s}" for s in suffixes)):
            if candidate.suffix not in suffixes:
                continue
            try:
                real = candidate.resolve()
                if real.is_relative_to(root) and real.is_file():
                    return real
            except OSError:  # a component too long, a symlink loop: not a usable name
                continue
    raise error(f"{field}: no such file {name!r} in {shelves} (accepted suffixes: "
                f"{', '.join(suffixes)})")


# ------------------------------------------------------------------------- YAML

_INT: Final = "tag:yaml.org,2002:int"
_FLOAT: Final = "tag:yaml.org,2002:float"
_REFUSED_TAGS: Final = ("timestamp", "binary", "set", "omap", "pairs")


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 numbers, text keys and the limits above.

    It composes the node tree itself (``compose_node``) to count depth and the size
    aliases expand to, so a bomb is refused before anything is built.
    """

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's own class-level table
        first: [(tag, rx) for tag, rx in rules
                if tag not in (_INT, _FLOAT, "tag:yaml.org,2002:timestamp")]
        for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._deepest = 0
        self._nodes = 0
        self._open: set[str] = set()
        self._size: dict[int, tuple[int, int]] = {}  # id(node) -> (values, height)

    @property
    def values_read(self) -> int:
        """Values composed so far, aliases expanded, over every document read."""
        return self._nodes

    def _refuse(self, problem: str, mark: Any) -> None:
        raise yaml.composer.ComposerError(None, None, problem, mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                self._refuse(f"alias *{event.anchor} refers to a value that contains it",
                             event.start_mark)
            node = super().compose_node(parent, index)
            values, height = self._size.get(id(node), (1, 1))
            self._grow(values, self._depth + height, event.start_mark)
            return node
        anchor = getattr(event, "anchor", None)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            self._refuse(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        outer_deepest, self._deepest = self._deepest, self._depth
        before = self._nodes
        if anchor:
            self._open.add(anchor)
        node = super().compose_node(parent, index)
        self._grow(1, self._depth, event.start_mark)
        if anchor:
            self._open.discard(anchor)
            self._size[id(node)] = (self._nodes - before, self._deepest - self._depth + 1)
        self._deepest = max(outer_deepest, self._deepest)
        self._depth -= 1
        return node

    def _grow(self, values: int, reach: int, mark: Any) -> None:
        self._nodes += values
        self._deepest = max(self._deepest, reach)
        if self._nodes > MAX_NODES:
            self._refuse(f"more than {MAX_NODES} values once aliases are expanded", mark)
        if reach > MAX_DEPTH:
            self._refuse(f"nested deeper than {MAX_DEPTH} levels once aliases are expanded",
                         mark)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark)
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    "a key must be text, not a list or mapping", key_node.start_mark)
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"duplicate key {key_node.value!r}", key_node.start_mark)
            seen.add(key_node.value)
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else \
                self.construct_object(key_node, deep=deep)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: Any) -> int:
        text = str(self.construct_scalar(node)).replace("_", "")
        if len(text) > MAX_NUMBER_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number of more than {MAX_NUMBER_DIGITS} digits",
                node.start_mark)
        sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text.lstrip("+"))
        try:
            if digits[:2] in ("0o", "0x"):
                return sign * int(digits[2:], 8 if digits[1] == "o" else 16)
            return sign * int(digits, 10)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"{text!r} is not a whole number", node.start_mark) from None

    def construct_yaml_float(self, node: Any) -> float:
        text = str(self.construct_scalar(node))
        if len(text) > MAX_NUMBER_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number of more than {MAX_NUMBER_DIGITS} digits",
                node.start_mark)
        try:
            value = float(super().construct_yaml_float(node))
        except (ValueError, OverflowError):
            raise yaml.constructor.ConstructorError(
                None, None, f"{text!r} is not a number", node.start_mark) from None
        if math.isinf(value) and "inf" not in text.lower():
            raise yaml.constructor.ConstructorError(
                None, None, f"the number {text} is too large", node.start_mark)
        return value

    def refuse_tag(self, node: Any) -> None:
        raise yaml.constructor.ConstructorError(
            None, None, f"the tag {node.tag} is not accepted (plain values, lists and "
            "mappings only)", node.start_mark)


_Loader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))
_Loader.add_constructor(_INT, _Loader.construct_yaml_int)
_Loader.add_constructor(_FLOAT, _Loader.construct_yaml_float)
for _tag in _REFUSED_TAGS:
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _Loader.refuse_tag)


def _yaml_problem(err: BaseException) -> str:
    if isinstance(err, yaml.MarkedYAMLError):
        where = f" (line {err.problem_mark.line + 1}, column {err.problem_mark.column + 1})" \
            if err.problem_mark is not None else ""
        return f"{err.problem or err.context}{where}"
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _check_length(text: str, where: str, limit: int, error: ErrorType) -> None:
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        raise error(f"{where}: larger than the {limit} bytes accepted")


def load_yaml(text: str, where: str, *, limit: int = MAX_INPUT_BYTES,
              error: ErrorType = InputError) -> Any:
    """One YAML (or JSON) document, read under the limits of this module.

    Raises:
        MiglabError: of type ``error``: ``where: not valid YAML or JSON: …`` with the line.
    """
    _check_length(text, where, limit, error)
    try:
        loader = _Loader(text)  # the reader refuses control characters here already
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as err:
        raise error(f"{where}: not valid YAML or JSON: {_yaml_problem(err)}") from None


def load_yaml_all(text: str, where: str, *, limit: int = MAX_INPUT_BYTES,
                  error: ErrorType = InputError) -> list[Any]:
    """Every document of a multi-document YAML stream (``---`` separated), bounded."""
    _check_length(text, where, limit, error)
    docs: list[Any] = []
    try:
        loader = _Loader(text)
        try:
            while loader.check_data():  # type: ignore[no-untyped-call]
                docs.append(loader.get_data())
                if loader.values_read > MAX_NODES:  # the count spans documents
                    raise error(f"{where}: more than {MAX_NODES} values in all")
        finally:
            loader.dispose()
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as err:
        raise error(f"{where}: not valid YAML: {_yaml_problem(err)}") from None
    return docs


# ------------------------------------------------------------------------- JSON


def _json_depth_ok(text: str) -> bool:
    """True when ``text`` nests at most :data:`MAX_DEPTH` arrays/objects (strings skipped)."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"the number {text[:20]}… has more than {MAX_NUMBER_DIGITS} digits")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"the number {text[:20]}… has more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_json(text: str, where: str, *, limit: int = MAX_INPUT_BYTES,
               error: ErrorType = InputError) -> Any:
    """One strict JSON value: finite numbers, unique keys, at most :data:`MAX_DEPTH` deep.

    Raises:
        MiglabError: of type ``error``: ``where: not valid JSON: …``.
    """
    _check_length(text, where, limit, error)
    if not _json_depth_ok(text):
        raise error(f"{where}: not valid JSON: nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float,
                          parse_int=_bounded_int, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as err:
        raise error(f"{where}: not valid JSON: {err}") from None


def finite_json(value: Any) -> Any:
    """``value`` with every NaN or ±inf float replaced by ``None`` (JSON's ``null``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """A numpy scalar as its Python value; anything else JSON cannot hold as text."""
    return value.item() if hasattr(value, "item") else str(value)


def dumps_json(value: Any, **kwargs: Any) -> str:
    """Strict JSON text: NaN and ±inf become ``null``, numpy scalars their values, other
    objects text. Keyword arguments go to :func:`json.dumps` (``indent``, ``sort_keys``)."""
    return json.dumps(finite_json(value), default=_plain, allow_nan=False, **kwargs)
