"""Read YAML while remembering where every value came from.

``load_yaml`` returns plain Python data plus a ``Source`` that maps a document path such as
``("municipalities", 1, "vlan")`` to its line, so validation errors can point at the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import LabInputError, Problem

PathT = tuple[str | int, ...]


def format_path(path: PathT) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Source:
    file: str
    lines: dict[PathT, int] = field(default_factory=dict)

    def line(self, path: PathT) -> int | None:
        """Line of the value at ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def problem(self, path: PathT, message: str) -> Problem:
        return Problem(self.file, self.line(path), format_path(path), message)

    def error(self, path: PathT, message: str) -> LabInputError:
        return LabInputError([self.problem(path, message)])


class _Loader(yaml.SafeLoader):
    pass


def _construct(node: yaml.Node, path: PathT, src: Source) -> Any:
    src.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise LabInputError([Problem(src.file, key_node.start_mark.line + 1,
                                             format_path(path), "keys must be plain names")])
            key = key_node.value
            if key in out:
                raise LabInputError(
                    [Problem(src.file, key_node.start_mark.line + 1, format_path(path + (key,)),
                             f"duplicate key '{key}'")]
                )
            out[key] = _construct(value_node, path + (key,), src)
            src.lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, path + (i,), src) for i, item in enumerate(node.value)]
    return _Loader("").construct_object(node, deep=True)


def load_yaml(path: str | Path, text: str | None = None) -> tuple[Any, Source]:
    """Parse a YAML file into plain data and a line map. Raises LabInputError on bad YAML."""
    name = str(path)
    src = Source(name)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LabInputError([Problem(name, None, "", "file not found")]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise LabInputError([Problem(name, None, "", f"cannot read: {exc}")]) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise LabInputError([Problem(name, line, "", f"YAML syntax error: {reason}")]) from None
    if node is None:
        return {}, src
    return _construct(node, (), src), src
