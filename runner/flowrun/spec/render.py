"""The effective spec as YAML: what `flowrun render` prints.

The output is itself a valid spec with the same meaning (and revision, secrets shown):
durations keep their units, a `$` is written `$$` so it is not interpolated again, and a
string that would read back as a number or boolean is quoted.

Unless `--show-secrets`, secrets are written `***`: values under secret-looking keys
(env and config names with TOKEN, SECRET, PASSWORD, KEY; the controller token), and every
value interpolated from a secret-looking variable, wherever it was put (a URL, an argument).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import yaml

from flowrun.secrets import MASK as MASK
from flowrun.secrets import is_secret_name, mask_text
from flowrun.spec.scalars import resolve_plain

if TYPE_CHECKING:
    from flowrun.spec.loader import LoadedSpec

_FLOW_LIST_WIDTH = 80


_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _SpecDumper(_BaseDumper):  # type: ignore[misc]
    """Short lists of scalars on one line (`command: [python, -m, x]`), like people write."""


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    scalars = all(isinstance(item, str | int | float | bool) for item in items)
    flow = scalars and len(str(items)) <= _FLOW_LIST_WIDTH
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    if not isinstance(resolve_plain(text), str):
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="'")
    return dumper.represent_str(text)


_SpecDumper.add_representer(list, _represent_list)
_SpecDumper.add_representer(str, _represent_str)


def mask_secrets(value: Any, *, secret: bool = False) -> Any:
    """`value` with every entry under a secret-looking name (TOKEN, KEY...) masked."""
    if isinstance(value, dict):
        return {
            key: mask_secrets(item, secret=is_secret_name(str(key))) for key, item in value.items()
        }
    if secret and value is not None:
        return MASK
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def mask_values(value: Any, secrets: Collection[str]) -> Any:
    """`value` with every occurrence of `secrets` in its strings and scalars masked."""
    if isinstance(value, dict):
        return {key: mask_values(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_values(item, secrets) for item in value]
    if isinstance(value, str):
        return mask_text(value, secrets)
    # A secret of digits put in a plain scalar was read back as a number.
    if value is not None and mask_text(str(value), secrets) != str(value):
        return MASK
    return value


def _escape_dollars(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {key: _escape_dollars(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escape_dollars(item) for item in value]
    return value


def _one_line(name: str) -> str:
    """A file name fit for the header comment: one with a line break in it (a file name
    may hold any byte but `/`) would end the comment, and the rest of the name would be
    read as YAML."""
    breaks = any(char in name for char in "\n\r\x85\u2028\u2029")
    return json.dumps(name, ensure_ascii=False) if breaks else name


def render_yaml(loaded: LoadedSpec, show_secrets: bool = False, *, unicode: bool = True) -> str:
    """The effective spec (profile merged, `${}` replaced, defaults filled in) as YAML.
    `unicode=False` writes every character beyond ASCII as a YAML escape (`"caf\\xE9"`), for
    an output whose encoding cannot hold them: still the same spec, read back."""
    data = loaded.spec.model_dump(mode="json", by_alias=True, exclude={"spec": {"profiles"}})
    spec = data["spec"]
    if not show_secrets:
        if spec["controller"].get("token") is not None:
            spec["controller"]["token"] = MASK
        for component in spec["components"].values():
            component["env"] = mask_secrets(component["env"])
            component["config"] = mask_secrets(component["config"])
        if loaded.secret_values:
            data = mask_values(data, loaded.secret_values)
    header = (
        f"# Effective spec of {_one_line(loaded.path.name)}: profile "
        f"{loaded.profile or '(none)'}, revision {loaded.revision}\n"
    )
    body = yaml.dump(
        _escape_dollars(data),
        Dumper=_SpecDumper,
        sort_keys=False,
        allow_unicode=unicode,
        default_flow_style=False,
        width=100,
    )
    return header + body
