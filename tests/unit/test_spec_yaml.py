"""The positioned YAML reader: locations, YAML 1.2 scalars, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowrun.spec.nodes import Map, Mark, Scalar, Seq, locate, to_data
from flowrun.spec.positions import MAX_DEPTH, MAX_NODES, compose
from test_spec_support import VALID, issues_of, load_text


def test_every_node_knows_its_line_and_column() -> None:
    root, problems = compose("a:\n  b: [1, {c: x}]\n  d: |\n    text\n")
    assert problems == []
    assert root is not None
    assert locate(root, ("a", "b", 1, "c")) == (Mark(2, 14), None)
    assert locate(root, ("a", "b", 1, "c"), at_key=True) == (Mark(2, 11), None)
    assert locate(root, ("a", "d")) == (Mark(3, 6), None)
    # A mapping as a whole is shown at the key naming it; an unknown tail at the deepest node.
    assert locate(root, ("a",)) == (Mark(1, 1), None)
    assert locate(root, ("a", "b", 7)) == (Mark(2, 6), None)


def test_scalars_follow_yaml_1_2() -> None:
    text = (
        "no: no\nyes: yes\ntime: 1:30\nday: 2024-01-01\noctal: 0o17\nhex: 0x1F\n"
        "exp: 1e3\nint: -12\nnull: ~\nempty:\ntrue: True\nquoted: '12'\n"
    )
    root, problems = compose(text)
    assert problems == []
    assert root is not None
    assert to_data(root) == {
        "no": "no",
        "yes": "yes",
        "time": "1:30",
        "day": "2024-01-01",
        "octal": 15,
        "hex": 31,
        "exp": 1000.0,
        "int": -12,
        "null": None,
        "empty": None,
        "true": True,
        "quoted": "12",
    }


def test_explicit_tags() -> None:
    root, problems = compose("a: !!str 8080\nb: !!int '7'\nc: !!float 3\n")
    assert problems == []
    assert root is not None and to_data(root) == {"a": "8080", "b": 7, "c": 3.0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a: !!binary aGk=",
            "unsupported YAML tag 'tag:yaml.org,2002:binary': a spec holds only plain data",
        ),
        ("a: !Ref x", "unsupported YAML tag '!Ref': a spec holds only plain data"),
        (
            "a: !!python/object:os.system {}",
            "unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system': a spec holds only "
            "plain data",
        ),
        ("a: !!int x", "'x' is not a valid !!int"),
    ],
)
def test_tags_a_spec_cannot_hold(text: str, message: str) -> None:
    _, problems = compose(text)
    assert [(p.mark, p.message) for p in problems] == [(Mark(1, 4), message)]


def test_merge_keys_copy_what_is_not_written() -> None:
    text = "b: &b {x: 1, y: 2}\nc: {<<: *b, y: 3}\nd: {<<: [*b, {z: 1}]}\n"
    root, problems = compose(text)
    assert problems == []
    assert root is not None
    assert to_data(root)["c"] == {"y": 3, "x": 1}
    assert to_data(root)["d"] == {"x": 1, "y": 2, "z": 1}


def test_a_quoted_merge_key_is_an_ordinary_key() -> None:
    """Only a plain `<<` merges (YAML's merge type is resolved from plain scalars): a quoted
    '<<' is a key like any other, as in docker compose (spec audit)."""
    root, problems = compose("b: &b {x: 1}\nc: {'<<': *b, y: 3}\nd: {\"<<\": 5}\n")
    assert problems == []
    assert root is not None
    assert to_data(root)["c"] == {"<<": {"x": 1}, "y": 3}
    assert to_data(root)["d"] == {"<<": 5}


def test_merge_of_a_scalar_is_refused() -> None:
    _, problems = compose("e: {<<: 5}")
    assert [(p.mark, p.message) for p in problems] == [
        (Mark(1, 9), "'<<' merges a mapping (or a list of mappings) into this one")
    ]


def test_keys_are_always_strings() -> None:
    root, problems = compose("env: {8080: x, true: y, on: z}\n")
    assert problems == []
    assert root is not None and to_data(root) == {"env": {"8080": "x", "true": "y", "on": "z"}}


def test_a_collection_as_key_is_refused() -> None:
    _, problems = compose("? [a, b]\n: 1\n")
    assert [(p.mark, p.message) for p in problems] == [
        (Mark(1, 3), "a mapping key must be a plain string, not a list or mapping")
    ]


def test_every_duplicate_key_is_reported() -> None:
    _, problems = compose("{a: 1, a: 2, b: 1, b: 3}")
    assert [(p.loc, p.mark, p.message) for p in problems] == [
        (("a",), Mark(1, 8), "duplicate key 'a' (first written at line 1)"),
        (("b",), Mark(1, 20), "duplicate key 'b' (first written at line 1)"),
    ]


@pytest.mark.parametrize(
    ("text", "mark", "message"),
    [
        ("a: *x", Mark(1, 4), "alias *x has no anchor &x"),
        ("a: &a [*a]", Mark(1, 8), "alias *a refers to a collection that contains it"),
        (
            "a: 1\n---\nb: 2",
            Mark(2, 1),
            "a spec is one YAML document; remove the second '---' and what follows",
        ),
        (
            "a: b: c",
            Mark(1, 5),
            "invalid YAML: mapping values are not allowed in this context; quote a value "
            "holding ': ', and line each key up with the keys beside it",
        ),
        (
            "a: [1, 2",
            Mark(2, 1),
            "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence); "
            "close the '[' opened at line 1, column 4 with ']', and separate items with ','",
        ),
        (
            "p: {port: ${P:-1}}",
            Mark(1, 12),
            "invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping); "
            "inside [ ] or { } quote a value using ${...}, or, for a number, write its key on "
            "a line of its own",
        ),
        # What PyYAML says alone names no fix (found by validating hand-broken specs).
        (
            "a:\n\tb: 1",
            Mark(2, 1),
            "invalid YAML: found character that cannot start any token (while scanning for "
            "the next token); a tab: indent with spaces",
        ),
        (
            "a: 'open\nb: 2",
            Mark(2, 5),
            "invalid YAML: found unexpected end of stream (while scanning a quoted scalar); "
            "close the quote opened at line 1, column 4",
        ),
        (
            "a: [1, 2]]",
            Mark(1, 10),
            "invalid YAML: did not find expected key (while parsing a block mapping); this ']' "
            "closes nothing: remove it",
        ),
        (
            "a:\n  b: 1\n c: 2",
            Mark(3, 2),
            "invalid YAML: did not find expected key (while parsing a block mapping); line "
            "each key (or '- ' item) up with the ones beside it",
        ),
        (
            "a: 1\nb",
            Mark(3, 1),
            "invalid YAML: could not find expected ':' (while scanning a simple key); write "
            "each key as 'key: value'",
        ),
        (
            'a: "C:\\new\\u00ZZ"',
            Mark(1, 13),
            "invalid YAML: did not find expected hexdecimal number (while parsing a quoted "
            "scalar); fix the '\\' escape, or single-quote the "
            "text to keep it as written",
        ),
        (
            "a: @me",
            Mark(1, 4),
            "invalid YAML: found character that cannot start any token (while scanning for "
            "the next token); a value starting with '@' must be quoted",
        ),
    ],
)
def test_unreadable_documents(text: str, mark: Mark, message: str) -> None:
    root, problems = compose(text)
    assert root is None
    assert [(p.mark, p.message) for p in problems] == [(mark, message)]


def test_nesting_is_bounded() -> None:
    depth = MAX_DEPTH + 1
    root, problems = compose("a: " + "[" * depth + "]" * depth)
    assert root is None
    assert [p.message for p in problems] == [
        f"nesting deeper than {MAX_DEPTH} levels; a spec never needs this"
    ]


def billion_laughs(levels: int = 9) -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    return "\n".join(lines) + "\n"


def test_alias_expansion_is_bounded() -> None:
    root, problems = compose(billion_laughs())
    assert root is None
    assert [p.message for p in problems] == [
        f"aliases expand this document beyond {MAX_NODES} nodes; refusing it (a YAML bomb?)"
    ]
    assert problems[0].mark == Mark(6, 4)


def test_reused_anchors_below_the_bound_are_fine() -> None:
    root, problems = compose(billion_laughs(levels=3))
    assert problems == [] and isinstance(root, Map)
    last = root.get("d")
    assert isinstance(last, Seq) and len(last.items) == 9


def test_extension_keys_hold_anchors(tmp_path: Path) -> None:
    text = VALID.replace("spec:\n", "x-cmd: &cmd [python, -m, shared]\nspec:\n  x-note: free\n")
    text = text.replace("command: [python, -m, sink]", "command: *cmd")
    loaded = load_text(tmp_path, text)
    assert loaded.body.components["sink"].command == ["python", "-m", "shared"]


def test_extension_keys_are_not_allowed_inside_components(tmp_path: Path) -> None:
    text = VALID + "      x-note: free\n"
    assert issues_of(tmp_path, text)[0].startswith(
        "pipeline.yaml:15:7: spec.components.sink.x-note: unknown key 'x-note'"
    )


def test_plain_scalars_keep_their_text() -> None:
    root, _ = compose("a: 0x1F\n")
    assert isinstance(root, Map)
    node = root.get("a")
    assert isinstance(node, Scalar) and (node.value, node.text, node.plain) == (31, "0x1F", True)
