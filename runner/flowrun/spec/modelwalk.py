"""Finding the model class behind a place in the document, for key checks and hints."""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from flowrun.spec.nodes import Loc, Map, Node, Problem


def field_keys(model: type[BaseModel]) -> dict[str, Any]:
    """The keys a user writes for `model` (aliases where set), each with its annotation."""
    return {(info.alias or name): info.annotation for name, info in model.model_fields.items()}


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _as_model(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _dict_value_model(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap_optional(annotation)
    if get_origin(annotation) is dict:
        return _as_model(get_args(annotation)[1])
    return None


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model whose fields are written at `loc`, or None where there is no model."""
    current: Any = root
    pending_dict = False
    for part in loc:
        if pending_dict:
            current, pending_dict = _dict_value_model(current), False
        elif isinstance(current, type) and issubclass(current, BaseModel):
            annotation = field_keys(current).get(str(part))
            model = _as_model(annotation)
            if model is None and _dict_value_model(annotation) is not None:
                current, pending_dict = annotation, True
                continue
            current = model
        else:
            return None
        if current is None:
            return None
    return None if pending_dict else current


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for a near miss, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key_message(key: str, model: type[BaseModel]) -> str:
    hint = did_you_mean(key, field_keys(model))
    if not hint:
        hint = f" (known keys: {', '.join(field_keys(model))})"
    return f"unknown key {key!r}{hint}"


def check_keys(node: Node, model: type[BaseModel], loc: Loc) -> list[Problem]:
    """Unknown keys anywhere in `node` read as `model`; used for profiles not selected."""
    if not isinstance(node, Map):
        return []
    problems: list[Problem] = []
    keys = field_keys(model)
    for key, entry in node.entries.items():
        if key not in keys:
            problems.append(Problem((*loc, key), entry.key_mark, unknown_key_message(key, model)))
            continue
        child = _as_model(keys[key])
        if child is not None:
            problems += check_keys(entry.node, child, (*loc, key))
        elif (value_model := _dict_value_model(keys[key])) is not None and isinstance(
            entry.node, Map
        ):
            for name, item in entry.node.entries.items():
                problems += check_keys(item.node, value_model, (*loc, key, name))
    return problems
