"""Read YAML and remember the line of every key and list item, so errors can point at them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mios.errors import InputError, Location, Problem, WorkspaceError

PathKey = tuple[str | int, ...]
MAX_VALUES = 1_000_000  # far beyond any real workspace file


@dataclass(frozen=True)
class YamlDocument:
    file: str
    data: Any
    lines: dict[PathKey, int]

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the deepest part of ``path`` that exists in the file."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return None


def read_yaml(
    path: Path, display: str | None = None, *, error: type[InputError] = WorkspaceError
) -> YamlDocument:
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error.at("file not found", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error.at(f"cannot read: {exc}", file=name) from exc
    return parse_yaml(text, name, error=error)


def parse_yaml(text: str, name: str, *, error: type[InputError] = WorkspaceError) -> YamlDocument:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(name, {}, {})
        lines: dict[PathKey, int] = {}
        _index(node, (), lines, name, [MAX_VALUES], error)
        data = loader.construct_document(node)
        if data is None:  # a document of only "---" says nothing, like an empty file
            data = {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise error.at(f"malformed YAML: {problem}", file=name, line=line) from exc
    except yaml.YAMLError as exc:
        raise error.at(f"malformed YAML: {exc}", file=name) from exc
    except RecursionError as exc:
        raise error.at("nested too deeply", file=name) from exc
    finally:
        loader.dispose()
    return YamlDocument(name, data, lines)


def _index(
    node: yaml.Node,
    path: PathKey,
    lines: dict[PathKey, int],
    name: str,
    budget: list[int],
    error: type[InputError],
) -> None:
    # Aliases let a few lines stand for billions of values ("billion laughs"); count values as
    # they expand and stop long before anything downstream would walk them all.
    budget[0] -= 1
    if budget[0] < 0:
        raise error.at(f"more than {MAX_VALUES:,} values (aliases expand to too many)", file=name)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                # PyYAML silently keeps the last one; a duplicated key is almost always a mistake.
                raise error.at(
                    f"key {key!r} appears twice",
                    file=name,
                    line=key_node.start_mark.line + 1,
                    field=_dotted((*path, key)),
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _index(value_node, (*path, key), lines, name, budget, error)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _index(item, (*path, i), lines, name, budget, error)


def _dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


dotted = _dotted


SpecT = TypeVar("SpecT", bound=BaseModel)


def validated(document: YamlDocument, model: type[SpecT], error: type[InputError]) -> SpecT:
    """``document`` checked against ``model``; every problem named by file, line and field."""
    if not isinstance(document.data, dict):
        raise error.at(
            "expected a mapping of keys to values at the top", file=document.file, line=1
        )
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        problems = [_problem(document, item) for item in exc.errors(include_url=False)]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise error(f"{problems[0]}{more}", problems) from exc


def _problem(document: YamlDocument, error: Any) -> Problem:
    path = _user_path(document.data, error["loc"])
    location = Location(document.file, document.line_of(path), dotted(path) or None)
    return Problem(location, _message(error))


def _user_path(data: Any, loc: Sequence[Any]) -> list[str | int]:
    """pydantic's error location as the user wrote it: follow the document, and drop the names
    pydantic adds for union members and validators (``ApproveEffectSpec``, ``literal[...]``)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        elif isinstance(part, str) and _is_pydantic_tag(part):
            continue
        else:
            node = None  # a missing or unknown field: name it, nothing below it to follow
        path.append(part)
    return path


def _is_pydantic_tag(part: str) -> bool:
    camel_case = part[:1].isupper() and part[1:2].islower()
    return camel_case or "[" in part or part.startswith("function-")


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind in {"literal_error", "enum"}:
        expected = error.get("ctx", {}).get("expected")
        return f"invalid value {error.get('input')!r}; expected {expected}"
    message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    # A whole section echoed back would bury the message; the line number already points at it.
    if "input" not in error or isinstance(given, dict | list):
        return message
    return f"{message} (got {given!r})"
