"""What changed between two specs, field by field, each change with its hot-reload class.

The classes are not listed here: they are the `x-reload` marks the model carries
(`flowrun.spec.model.reloads`). A field without a mark inherits its parent's; a leaf
without any (none today, a test keeps it so) is treated as `pipeline`, the safe side.
Profiles are left out: the loader already merged the one in force, so only the fields
it overrides matter (the revision leaves them out the same way).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from flowrun.spec.model import LIVE, PIPELINE, PipelineSpec, reload_mark

Loc = tuple[str, ...]
Kind = Literal["changed", "added", "removed"]


@dataclass(frozen=True)
class FieldChange:
    """One leaf that differs: `old`/`new` are JSON values (None where `kind` says absent)."""

    loc: Loc
    old: Any
    new: Any
    reload: str
    kind: Kind = "changed"
    component: str | None = None
    """The component it belongs to (None for pipeline-wide fields)."""

    @property
    def path(self) -> str:
        return ".".join(self.loc)


def effective(spec: PipelineSpec) -> PipelineSpec:
    """The spec without its profiles: what runs."""
    return spec.model_copy(update={"spec": spec.spec.model_copy(update={"profiles": {}})})


def diff_specs(old: PipelineSpec, new: PipelineSpec) -> list[FieldChange]:
    """Every changed leaf, in model order. Components added or removed are not changes of
    a field: compare the component names for those."""
    return list(_diff_model(effective(old), effective(new), (), None, None))


def _field_key(name: str, info: FieldInfo) -> str:
    return info.alias or name


def _diff_model(
    old: BaseModel, new: BaseModel, loc: Loc, inherited: str | None, component: str | None
) -> Iterator[FieldChange]:
    shown: tuple[dict[str, Any], dict[str, Any]] | None = None
    for name, info in type(old).model_fields.items():
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        key, mark = _field_key(name, info), reload_mark(info) or inherited
        if _is_leaf(before, after):
            # As the user writes it (durations as '250ms'), from the model's own serialiser.
            shown = shown or (_dump(old), _dump(new))
            old_shown, new_shown = shown[0].get(key), shown[1].get(key)
            yield FieldChange(
                (*loc, key), old_shown, new_shown, mark or PIPELINE, "changed", component
            )
        else:
            yield from _diff_value(before, after, (*loc, key), mark, component)


def _is_leaf(old: Any, new: Any) -> bool:
    both_models = isinstance(old, BaseModel) and type(old) is type(new)
    return not both_models and not (isinstance(old, Mapping) and isinstance(new, Mapping))


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def _diff_value(
    old: Any, new: Any, loc: Loc, mark: str | None, component: str | None
) -> Iterator[FieldChange]:
    if isinstance(old, BaseModel) and type(old) is type(new):
        yield from _diff_model(old, new, loc, mark, component)
    elif isinstance(old, Mapping) and isinstance(new, Mapping):
        named_models = _is_named_models(old, new)
        for key in [*old, *(k for k in new if k not in old)]:
            if key in old and key in new and old[key] != new[key]:
                owner = key if named_models and component is None else component
                yield from _diff_value(old[key], new[key], (*loc, key), mark, owner)
            elif not named_models and (key not in old or key not in new):
                kind: Kind = "added" if key not in old else "removed"
                yield FieldChange(
                    (*loc, key),
                    _json(old.get(key)),
                    _json(new.get(key)),
                    mark or PIPELINE,
                    kind,
                    component,
                )
    else:
        yield FieldChange(loc, _json(old), _json(new), mark or PIPELINE, "changed", component)


def _is_named_models(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """A mapping of models (the components): each key is an item with fields of its own."""
    values = [*old.values(), *new.values()]
    return bool(values) and all(isinstance(value, BaseModel) for value in values)


def _json(value: Any) -> Any:
    return to_jsonable_python(value, by_alias=True)


def with_live_values_of(new: BaseModel, old: BaseModel, inherited: str | None = None) -> Any:
    """`new` where every live field keeps its value from `old`: the spec a process would be
    started with if only the restart-worthy edits were made."""
    updates: dict[str, Any] = {}
    for name, info in type(new).model_fields.items():
        mark = reload_mark(info) or inherited
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        if mark == LIVE:
            updates[name] = before
        elif isinstance(after, BaseModel) and type(after) is type(before):
            updates[name] = with_live_values_of(after, before, mark)
        elif isinstance(after, Mapping) and isinstance(before, Mapping):
            updates[name] = {
                key: _live_values_in_item(value, before.get(key), mark)
                for key, value in after.items()
            }
    return new.model_copy(update=updates) if updates else new


def _live_values_in_item(new: Any, old: Any, inherited: str | None) -> Any:
    if isinstance(new, BaseModel) and isinstance(old, BaseModel) and type(old) is type(new):
        return with_live_values_of(new, old, inherited)
    return new


def transplant(base: Any, source: Any, loc: Loc) -> Any:
    """`base` with the value at `loc` taken from `source` (removed where `source` has none)."""
    if not loc:
        return source
    head, rest = loc[0], loc[1:]
    if isinstance(base, BaseModel):
        name = _attribute_for(type(base), head)
        return base.model_copy(
            update={name: transplant(getattr(base, name), getattr(source, name), rest)}
        )
    if isinstance(base, Mapping):
        copy = dict(base)
        if head not in source:
            copy.pop(head, None)
        elif head not in base or not rest:
            copy[head] = source[head]
        else:
            copy[head] = transplant(base[head], source[head], rest)
        return copy
    return source


def _attribute_for(model: type[BaseModel], key: str) -> str:
    for name, info in model.model_fields.items():
        if _field_key(name, info) == key:
            return name
    raise KeyError(f"{model.__name__} has no field {key!r}")
