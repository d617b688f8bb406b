"""`${VAR}` interpolation and the .env file beside the spec."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowrun.spec.interpolate import InterpolationError, interpolate_text
from flowrun.spec.loader import load_spec
from test_spec_support import VALID, issues_of, load_text, write


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("${A}", {"A": ""}, ""),
        ("pre-${A}-post", {"A": "x"}, "pre-x-post"),
        ("${A:-d}", {}, "d"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A-d}", {}, "d"),
        ("${A:-}", {}, ""),
        ("${A:-a b:c}", {}, "a b:c"),
        ("$${A}", {"A": "x"}, "${A}"),
        ("cost $5 and $$", {}, "cost $5 and $"),
        ("${A}${B}", {"A": "1", "B": "2"}, "12"),
        # A default may itself be interpolated, as in docker compose (spec audit).
        ("${A:-${B:-x}}", {}, "x"),
        ("${A:-${B:-x}}", {"B": "b"}, "b"),
        ("${A:-${B:-x}}", {"A": "a"}, "a"),
        ("${A:-pre-${B}-$$-{y}}", {"B": "b"}, "pre-b-$-{y}"),
        ("${A:-${B:-${C}}}/z", {"C": "c"}, "c/z"),
    ],
)
def test_interpolate_text(text: str, environ: dict[str, str], expected: str) -> None:
    assert interpolate_text(text, environ) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "${A}",
            "variable A is not set; set it in the environment or in .env, or give a default: "
            "${A:-value}",
        ),
        ("${A:?give the token}", "variable A is required: give the token"),
        ("${A?}", "variable A is required: it is not set"),
        ("${}", "invalid interpolation '${}': write ${NAME} or ${NAME:-default}"),
        ("${1A}", "invalid interpolation '${1A}': write ${NAME} or ${NAME:-default}"),
        ("${A", "unterminated '${': close it with '}' (write '$$' for a '$')"),
        ("${A:-${B}", "unterminated '${': close it with '}' (write '$$' for a '$')"),
        ("${A:?need ${B:-B}}", "variable A is required: need B"),
        (
            "${A:-${B}}",
            "variable B is not set; set it in the environment or in .env, or give "
            "a default: ${B:-value}",
        ),
    ],
)
def test_interpolation_errors(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate_text(text, {})
    assert str(caught.value) == message


def test_unset_variable_is_an_issue_at_its_node(tmp_path: Path) -> None:
    text = VALID.replace("127.0.0.1:9001", "${SRC_HOST}:9001")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:10:17: spec.components.src.endpoint: variable SRC_HOST is not set; set it "
        "in the environment or in .env, or give a default: ${SRC_HOST:-value}"
    ]


def test_every_unset_variable_is_reported(tmp_path: Path) -> None:
    text = VALID.replace("name: demo", "name: ${NAME}").replace("9001", "${PORT}")
    assert [issue.split(": ")[1] for issue in issues_of(tmp_path, text)] == [
        "metadata.name",
        "spec.components.src.endpoint",
    ]


def test_plain_values_are_reread_after_interpolation(tmp_path: Path) -> None:
    text = VALID.replace("spec:\n", "spec:\n  monitoring:\n    metrics_port: ${METRICS:-9500}\n")
    text += "      config:\n        seed: ${SEED:-7}\n        label: '${SEED:-7}'\n"
    loaded = load_text(tmp_path, text, environ={"SEED": "42"})
    assert loaded.body.monitoring.metrics_port == 9500
    assert loaded.body.components["sink"].config == {"seed": 42, "label": "42"}


def test_a_quoted_interpolation_is_text_which_a_number_refuses(tmp_path: Path) -> None:
    """Quoted, `${}` gives text, as `label` above; in a number field that is an error whose
    fix, in a flow mapping, is the key on a line of its own (a plain `${}` ends the mapping)."""
    quoted = VALID.replace("spec:\n", "spec:\n  monitoring: {metrics_port: '${METRICS:-9500}'}\n")
    assert issues_of(tmp_path, quoted) == [
        "pipeline.yaml:6:30: spec.monitoring.metrics_port: expected an integer, got '9500' "
        "(write 9500 without quotes)"
    ]
    flow = quoted.replace("'${METRICS:-9500}'", "${METRICS:-9500}")
    [syntax] = issues_of(tmp_path, flow)
    assert syntax.endswith("or, for a number, write its key on a line of its own")


def test_dotenv_beside_the_spec_and_the_environment_wins(tmp_path: Path) -> None:
    write(tmp_path, "# comment\nexport NAME='from dotenv'\nPORT=9100 # trailing\n\n", ".env")
    text = VALID.replace("name: demo", "name: ${NAME}").replace("9001", "${PORT}")
    spec_path = write(tmp_path, text)
    loaded = load_spec(spec_path, environ={})
    assert loaded.name == "from dotenv"
    assert loaded.body.components["src"].endpoint == "127.0.0.1:9100"
    assert loaded.sources == (spec_path, tmp_path / ".env")
    overridden = load_spec(spec_path, environ={"NAME": "from environ"})
    assert overridden.name == "from environ"


def test_dotenv_can_choose_the_profile(tmp_path: Path) -> None:
    write(tmp_path, "FLOWRUN_PROFILE=dev\n", ".env")
    text = VALID + "  profiles:\n    dev: {pool: {max_connections: 3}}\n"
    loaded = load_spec(write(tmp_path, text), environ={})
    assert loaded.profile == "dev"
    assert loaded.body.pool.max_connections == 3


def test_bad_dotenv_line_is_an_issue_in_the_dotenv(tmp_path: Path) -> None:
    write(tmp_path, "OK=1\nnot a variable\n", ".env")
    assert issues_of(tmp_path, VALID) == [
        ".env:2:1: expected KEY=VALUE (a letter or _ first, then letters, digits or _)"
    ]


def test_double_quoted_dotenv_values_unescape(tmp_path: Path) -> None:
    write(tmp_path, 'MULTI="a\\nb"\nHASH=a#b\n', ".env")
    text = VALID + "      env: {M: '${MULTI}', H: '${HASH}'}\n"
    loaded = load_spec(write(tmp_path, text), environ={})
    assert loaded.body.components["sink"].env == {"M": "a\nb", "H": "a#b"}


def test_a_quoted_dotenv_value_may_be_followed_by_a_comment(tmp_path: Path) -> None:
    """`API_TOKEN="abc" # prod` passed the quotes to the component (spec audit)."""
    write(
        tmp_path,
        'A=\'single\' # note\nB="double" # note\nC="esc \\"q\\" \\\\n"\n',
        ".env",
    )
    text = VALID + "      env: {A: '${A}', B: '${B}', C: '${C}'}\n"
    loaded = load_spec(write(tmp_path, text), environ={})
    assert loaded.body.components["sink"].env == {"A": "single", "B": "double", "C": 'esc "q" \\n'}


def test_an_unclosed_quote_or_text_after_it_in_a_dotenv_is_an_issue(tmp_path: Path) -> None:
    write(tmp_path, 'OPEN="never closed\nAFTER="x"y\n', ".env")
    assert issues_of(tmp_path, VALID) == [
        '.env:1:6: the value\'s " is never closed: end it with "',
        ".env:2:7: text after the closing \": 'y' (a comment is ' #...')",
    ]
