"""Read a playbook file into plain values, remembering where every node came from.

The YAML is composed into nodes (libyaml's C parser when available) and the values are built
here by hand, so nothing but str, int, bool, None, Decimal, list and dict can come out of a
file: no arbitrary objects, no floats (numbers keep their source text and become exact
Decimals). Scalars follow YAML 1.2's core schema rather than PyYAML's YAML 1.1 defaults: only
true/false are booleans, so `yes`, `no`, `on` and `off` stay text (and then fail where a
boolean or an enum is expected instead of passing silently); `0x1F`, `1_000`, `1:30` and dates
stay text too. Duplicate keys, several documents, an empty file, a root that is not a mapping
and tabs in indentation are errors. `${VAR}` is interpolated in values, never in keys.

This module must never validate the meaning of a playbook (that is `validate` and `rules`)
and never construct anything from a YAML tag.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from runner.playbook.errors import FieldPath, PlaybookError, Problem, format_field_path
from runner.playbook.interpolate import InterpolationError, has_reference, interpolate

try:  # the C parser is ~10x faster; the pure-Python one gives the same nodes
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml missing from this build of PyYAML
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ, _MERGE = _TAG + "map", _TAG + "seq", _TAG + "merge"

# YAML 1.2 core schema, with decimals kept exact
_NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE_WORDS = frozenset({"true", "True", "TRUE"})
_FALSE_WORDS = frozenset({"false", "False", "FALSE"})
_INT_TEXT = re.compile(r"[-+]?[0-9]+\Z")
_DECIMAL_TEXT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")

# Guards against alias bombs and self-referencing anchors; real playbooks are far smaller.
MAX_NODES = 100_000
MAX_DEPTH = 40

_RESOLVER = Resolver()

Position = tuple[int, int]  # 1-based line and column


@dataclass(frozen=True, slots=True)
class Document:
    """A playbook's plain values plus the position of every value and every mapping key."""

    file: str
    data: dict[str, Any]
    value_positions: Mapping[FieldPath, Position] = field(default_factory=dict)
    key_positions: Mapping[FieldPath, Position] = field(default_factory=dict)
    # problems that still left a usable document (a duplicate key, an unset variable, a
    # refused tag): validation goes on so that the user sees every problem in one pass
    problems: tuple[Problem, ...] = ()

    def position(self, path: FieldPath, *, at_key: bool = False) -> Position:
        """Where `path` is written; for a missing path, where its nearest parent is."""
        probe = tuple(path)
        while probe:
            if at_key and probe in self.key_positions:
                return self.key_positions[probe]
            if probe in self.value_positions:
                return self.value_positions[probe]
            probe = probe[:-1]
        return self.value_positions.get((), (1, 1))

    def problem(
        self, path: FieldPath, message: str, fix: str = "", *, at_key: bool = False
    ) -> Problem:
        line, col = self.position(path, at_key=at_key)
        return Problem(self.file, line, col, format_field_path(path), message, fix)


def read_document(
    path: Path, env: Mapping[str, str] | None = None, *, strict: bool = True
) -> Document:
    """Read and parse one playbook file; raises PlaybookError (also for unreadable files).

    With strict=False, problems that leave a usable document are returned in
    `Document.problems` instead of raised.
    """
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise PlaybookError([Problem(file, 0, 0, "", f"cannot read the file: {reason}")]) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PlaybookError(
            [Problem(file, line, 1, "", "the file is not UTF-8 text", "save it as UTF-8")]
        ) from exc
    return parse_document(text, file, env, strict=strict)


def parse_document(
    text: str, file: str, env: Mapping[str, str] | None = None, *, strict: bool = True
) -> Document:
    """Parse playbook text; raises PlaybookError listing every problem (see read_document)."""
    tab_problems = _find_tab_indentation(text, file)
    if tab_problems:
        raise PlaybookError(tab_problems)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise PlaybookError([_yaml_problem(exc, text, file)]) from exc
    if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL and not root.value):
        raise PlaybookError(
            [
                Problem(
                    file,
                    1,
                    1,
                    "",
                    "the file is empty",
                    "a playbook needs at least version, name and symbols",
                )
            ]
        )
    if not isinstance(root, MappingNode):
        line, col = _position(root)
        found = "a list" if isinstance(root, SequenceNode) else f"the value {root.value!r}"
        raise PlaybookError(
            [
                Problem(
                    file,
                    line,
                    col,
                    "",
                    f"a playbook must be a mapping of fields, found {found}",
                    "start the file with 'version: 1', 'name: ...' and 'symbols: ...' lines",
                )
            ]
        )
    builder = _Builder(file, os.environ if env is None else env)
    data = builder.build(root, (), 0)
    if builder.problems and (strict or builder.overflowed):
        raise PlaybookError(builder.problems)
    assert isinstance(data, dict)
    return Document(
        file, data, builder.value_positions, builder.key_positions, tuple(builder.problems)
    )


def _position(node: Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _find_tab_indentation(text: str, file: str) -> list[Problem]:
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        if stripped and "\t" in indent:
            problems.append(
                Problem(
                    file,
                    number,
                    indent.index("\t") + 1,
                    "",
                    "tab character in the indentation",
                    "YAML indents with spaces only: replace the tab with spaces",
                )
            )
    return problems


def _yaml_problem(exc: yaml.YAMLError, text: str, file: str) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if exc.context == "expected a single document in the stream":
            return Problem(
                file,
                line,
                col,
                "",
                "a second YAML document ('---') in the file",
                "keep one playbook per file: remove the '---' line or split the file",
            )
        if exc.problem == "found undefined alias":
            return Problem(
                file,
                line,
                col,
                "",
                "alias to an anchor that is not defined",
                "define the anchor (&name) before the alias (*name)",
            )
        if exc.context == "while scanning an alias":  # `schedule: */5 * * * *`, unquoted
            return Problem(
                file,
                line,
                col,
                "",
                "a value starting with '*' is read as a YAML alias",
                'put the value in quotes, e.g. schedule: "*/5 * * * *"',
            )
        what = exc.problem or exc.context or "the YAML cannot be parsed"
        return Problem(
            file,
            line,
            col,
            "",
            f"invalid YAML: {what}",
            "check the indentation, colons and quotes on this line and the one above",
        )
    position = getattr(exc, "position", None)
    if isinstance(position, int):  # ReaderError: a character YAML does not allow
        line = text.count("\n", 0, position) + 1
        col = position - (text.rfind("\n", 0, position) + 1) + 1
        return Problem(file, line, col, "", "invalid character in the file", "remove it")
    return Problem(file, 1, 1, "", f"invalid YAML: {exc}")


class _Builder:
    """Turns composed nodes into plain values, recording positions and problems."""

    def __init__(self, file: str, env: Mapping[str, str]) -> None:
        self.file = file
        self.env = env
        self.problems: list[Problem] = []
        self.value_positions: dict[FieldPath, Position] = {}
        self.key_positions: dict[FieldPath, Position] = {}
        self.nodes = 0
        self.overflowed = False

    def fail(self, node: Node, path: FieldPath, message: str, fix: str = "") -> None:
        line, col = _position(node)
        self.problems.append(Problem(self.file, line, col, format_field_path(path), message, fix))

    def build(self, node: Node, path: FieldPath, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            if not self.overflowed:
                self.overflowed = True
                self.fail(
                    node,
                    path,
                    "the document nests or repeats too much",
                    "remove recursive or repeated aliases",
                )
            return None
        self.value_positions[path] = _position(node)
        if isinstance(node, MappingNode):
            if node.tag != _MAP:
                self.refuse_tag(node, path)
            return self.build_mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                self.refuse_tag(node, path)
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self.build_scalar(node, path)

    def build_mapping(self, node: MappingNode, path: FieldPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[Node] = []
        seen: dict[str, int] = {}
        explicit: list[tuple[str, ScalarNode, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, path, "a key must be a plain name, not a list or mapping")
                continue
            key = key_node.value  # the key's source text: `on:` stays "on", `1:` is "1"
            if key in seen:
                self.fail(
                    key_node,
                    (*path, key),
                    f"duplicate key {key!r} (first at line {seen[key]})",
                    "remove one of them; YAML would silently keep only the last",
                )
                continue
            seen[key] = key_node.start_mark.line + 1
            explicit.append((key, key_node, value_node))
        # `<<: *base` merges: the first source listed wins, and written keys override merged ones
        # (YAML merge-key semantics); building the last source first keeps the winner's positions.
        for merge in reversed(merges):
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in reversed(sources):
                if not isinstance(source, MappingNode):
                    self.fail(source, path, "'<<' must merge a mapping or a list of mappings")
                    continue
                result.update(self.build_mapping(source, path, depth + 1))
        for key, key_node, value_node in explicit:
            self.key_positions[(*path, key)] = _position(key_node)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def build_scalar(self, node: ScalarNode, path: FieldPath) -> Any:
        text: str = node.value
        plain = not node.style  # None from the Python parser, "" from libyaml
        implicit = plain and node.tag == _RESOLVER.resolve(  # type: ignore[no-untyped-call]
            ScalarNode, text, (True, False)
        )
        if node.tag == _STR or implicit:
            if has_reference(text):
                try:
                    text = interpolate(text, self.env)
                except InterpolationError as exc:
                    self.fail(node, path, exc.message, exc.fix)
                    return None
            return resolve_plain(text) if implicit else text
        return self.build_tagged(node, path, text)

    def build_tagged(self, node: ScalarNode, path: FieldPath, text: str) -> Any:
        """A scalar with an explicit standard tag (`!!int 5`); any other tag is refused."""
        tag = node.tag
        if tag == _INT and _INT_TEXT.match(text):
            return int(text)
        if tag == _FLOAT and _DECIMAL_TEXT.match(text):
            return Decimal(text)
        if tag == _BOOL and text in _TRUE_WORDS | _FALSE_WORDS:
            return text in _TRUE_WORDS
        if tag == _NULL and text in _NULL_WORDS:
            return None
        if tag in (_INT, _FLOAT, _BOOL, _NULL):
            self.fail(
                node,
                path,
                f"{text!r} does not match its tag {tag.removeprefix(_TAG)!r}",
                "remove the tag",
            )
        else:
            self.refuse_tag(node, path)
        return None

    def refuse_tag(self, node: Node, path: FieldPath) -> None:
        shown = node.tag.replace(_TAG, "!!")
        self.fail(node, path, f"tag {shown!r} is not allowed in a playbook", "remove the tag")


def resolve_plain(text: str) -> Any:
    """The value of an unquoted scalar under YAML 1.2's core schema, numbers as exact values."""
    if text in _NULL_WORDS:
        return None
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    if _INT_TEXT.match(text):
        return int(text)
    if _DECIMAL_TEXT.match(text):
        return Decimal(text)
    return text
