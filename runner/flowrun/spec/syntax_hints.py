"""What to write when a spec is not valid YAML.

libyaml says what it found (`mapping values are not allowed in this context`); an author
needs what to change. Each hint reads the error's problem and context and the line it
points at, and names the fix for the usual causes: a tab, an unclosed bracket or quote, a
`: ` inside a value, keys out of line, a `${}` inside `{ }` or `[ ]`.
"""

from __future__ import annotations

from typing import Any

import yaml

_CLOSING = {"mapping": ("{", "}"), "sequence": ("[", "]")}
_INDICATORS = "@`%"  # reserved or directive characters a plain value cannot start with


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def syntax_hint(error: yaml.MarkedYAMLError, line: str, column: int) -> str:
    """The fix for `error`, found at 1-based `column` of `line`; "" when none is known."""
    problem, context = error.problem or "", error.context or ""
    opened = error.context_mark
    found = line[column - 1 : column]
    if found == "\t":
        return "a tab: indent with spaces"
    if "cannot start any token" in problem and found and found in _INDICATORS:
        return f"a value starting with '{found}' must be quoted"
    if found in ("]", "}") and "flow" not in context:
        return f"this '{found}' closes nothing: remove it"
    if "flow" in context:
        if "${" in line:
            # `{port: ${PORT}}`: the braces of ${} end a flow mapping early. Quoted, it is
            # text, which a number field refuses (flowrun.spec.numbers): that one goes on a
            # line of its own.
            return (
                "inside [ ] or { } quote a value using ${...}, or, for a number, write its "
                "key on a line of its own"
            )
        start, end = _CLOSING["mapping" if "mapping" in context else "sequence"]
        since = f" at {_where(opened)}" if opened is not None else ""
        return f"close the '{start}' opened{since} with '{end}', and separate items with ','"
    if "escape" in problem or "hex" in problem:  # `\q`, `\ud800`, `\u00ZZ`
        return "fix the '\\' escape, or single-quote the text to keep it as written"
    if "quoted scalar" in context and opened is not None:
        return f"close the quote opened at {_where(opened)}"
    if "mapping values are not allowed" in problem:
        return "quote a value holding ': ', and line each key up with the keys beside it"
    if "expected ':'" in problem:
        return "write each key as 'key: value'"
    if "expected key" in problem or "expected '-'" in problem:
        return "line each key (or '- ' item) up with the ones beside it"
    return ""
