"""Read YAML the way compose does, and remember where every value came from.

Compose reads YAML 1.2: `on`, `yes`, `22:22` and `2024-01-01` stay strings (PyYAML's
YAML 1.1 rules would turn them into booleans, sexagesimal numbers and dates). Mapping
keys are kept as the text written. `!reset` and `!override` become markers that the
merge stage acts on. Every key and item is recorded with its line and column, so a
later error about `services.web.ports[1]` can point into the file.
"""
from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from .errors import ComposeError
from .tags import RESET, Override, Reset

try:
    from yaml._yaml import CParser as _Parser  # libyaml: several times faster
except ImportError:  # pragma: no cover - libyaml is in every wheel we install
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


Positions = dict[tuple, tuple[int, int]]


class _Resolver(BaseResolver):
    pass


# The YAML 1.2 core schema, as go-yaml v3 (and so compose) reads plain scalars.
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+.0123456789"))
_Resolver.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"),
                                ["~", "n", "N", ""])
_Resolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


class _Constructor(SafeConstructor):
    def construct_yaml_int(self, node: ScalarNode) -> int | float:
        """As go-yaml v3 reads an integer (Go's ParseInt with base 0): `0o17`, and the
        YAML 1.1 spelling `017`, are octal (compose reads `mode: 0440` as 0o440);
        `09`, no octal, is the float 9."""
        text = node.value
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        digits = text.lstrip("+-")
        if len(digits) > 1 and digits.startswith("0"):
            sign = -1 if text.startswith("-") else 1
            return sign * int(digits, 8) if set(digits) <= set("01234567") else float(text)
        return int(text, 10)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict:
        seen: dict[str, Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode):
                raise ConstructorError(None, None, "a mapping key must be a plain value",
                                       key_node.start_mark)
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if key_node.value in seen:
                first = seen[key_node.value].start_mark
                raise ConstructorError(
                    None, None,
                    f"mapping key {key_node.value!r} already defined at line {first.line + 1}",
                    key_node.start_mark)
            seen[key_node.value] = key_node
        self.flatten_mapping(node)
        return {key_node.value: self.construct_object(value_node, deep=deep)
                for key_node, value_node in node.value}

    def construct_reset(self, node: Node) -> Reset:
        return RESET

    def construct_override(self, node: Node) -> Override:
        if isinstance(node, MappingNode):
            return Override(self.construct_mapping(node, deep=True))
        if isinstance(node, SequenceNode):
            return Override(self.construct_sequence(node, deep=True))
        tag = self.resolve(ScalarNode, node.value, (True, False))  # type: ignore[attr-defined]
        return Override(self.construct_object(ScalarNode(tag, node.value, node.start_mark,
                                                         node.end_mark, node.style)))


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)
_Constructor.add_constructor("!reset", _Constructor.construct_reset)
_Constructor.add_constructor("!override", _Constructor.construct_override)


class _Loader(_Parser, _Constructor, _Resolver):  # type: ignore[misc, valid-type]
    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _Constructor.__init__(self)
        _Resolver.__init__(self)


def parse_yaml(text: str, filename: str) -> tuple[Any, Positions]:
    """Parse one YAML document; return its data and the (line, col) of every path in it."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_aliasing(node, filename)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = ", ".join(part for part in (err.context, err.problem) if part)
        raise ComposeError(f"invalid YAML: {problem}", file=filename,
                           line=mark.line + 1 if mark else None,
                           col=mark.column + 1 if mark else None) from None
    except yaml.YAMLError as err:
        raise ComposeError(f"invalid YAML: {err}", file=filename) from None
    finally:
        loader.dispose()
    positions: Positions = {(): (node.start_mark.line + 1, node.start_mark.column + 1)}
    _record(node, (), positions, 0)
    return data, positions


def _allowed_alias_share(size: int) -> float:
    """How much of a document of `size` values (aliases expanded) may come from aliases:
    nearly all of a small one, a tenth of a huge one (go-yaml's rule, which compose uses)."""
    low, high = 400_000, 4_000_000
    if size <= low:
        return 0.99
    if size >= high:
        return 0.10
    return 0.99 - 0.89 * (size - low) / (high - low)


def _check_aliasing(root: Node, filename: str) -> None:
    """Refuse a document whose aliases expand it out of all proportion (a "billion
    laughs" file: a few lines that would take gigabytes and minutes to load)."""
    sizes: dict[int, int] = {}

    def size(node: Node) -> int:  # values under `node`, counting an alias's each time
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a recursive alias counts once
        total = 1
        if isinstance(node, MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        elif isinstance(node, SequenceNode):
            total += sum(size(item) for item in node.value)
        sizes[id(node)] = total
        return total

    expanded = size(root)
    from_aliases = expanded - len(sizes)
    if expanded > 1000 and from_aliases > expanded * _allowed_alias_share(expanded):
        raise ComposeError(f"invalid YAML: the document's aliases expand it to {expanded:,} "
                           f"values from {len(sizes):,} written (excessive aliasing)",
                           file=filename, line=root.start_mark.line + 1)


def _record(node: Node, path: tuple, positions: Positions, depth: int) -> None:
    if depth > 64:
        return
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            sub = path + (key_node.value,)
            positions[sub] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _record(value_node, sub, positions, depth + 1)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            sub = path + (index,)
            positions[sub] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _record(item, sub, positions, depth + 1)
