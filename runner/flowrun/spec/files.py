"""Reading a spec file, and the `.env` file beside it, defensively.

A spec is small UTF-8 text. Anything else (a directory, a 10 MB log, a binary, /dev/zero)
is refused from its first bytes with one line that says what was wrong, and never read
whole.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from flowrun.errors import SpecFileError
from flowrun.spec.nodes import Mark, Problem

MAX_SPEC_BYTES = 2 * 1024 * 1024
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_TRAILING_COMMENT = re.compile(r"\s+#.*$")


def read_text(path: Path, shown: str, *, what: str = "spec") -> str:
    """The file's text, or SpecFileError saying in one line why it cannot be a spec."""
    data = _read_bytes(path, shown, what)
    _refuse_utf16(data, shown, what)
    control = _CONTROL.search(data)
    if control:
        byte = data[control.start()]
        raise SpecFileError(
            f"{shown}: not a text file (byte 0x{byte:02x} at offset {control.start()}); "
            f"a {what} file is UTF-8 {'YAML ' if what == 'spec' else ''}text"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # FILE:LINE:COL of the first such byte, the form editors jump to: a Latin-1 file
        # (`café` saved by an old editor) has it where the user must look.
        line = data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8-sig")) + 1  # in characters
        raise SpecFileError(
            f"{shown}:{line}:{column}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
            f"save the {what} file as UTF-8, e.g. iconv -f latin1 -t utf-8"
        ) from error


_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def _refuse_utf16(data: bytes, shown: str, what: str) -> None:
    """A file saved as UTF-16 (Windows' "Unicode") was refused for its NUL bytes, as
    "not a text file": it is text, in the wrong encoding."""
    if data.startswith(_UTF16_MARKS):
        raise SpecFileError(
            f"{shown}: UTF-16 text (it starts with a UTF-16 byte order mark); save the "
            f"{what} file as UTF-8, e.g. iconv -f utf-16 -t utf-8"
        )


def _read_bytes(path: Path, shown: str, what: str) -> bytes:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise SpecFileError(
                f"{shown}: is a directory; give the {what} file inside it, "
                f"e.g. {Path(shown) / 'pipeline.yaml'}"
            )
        _check_size(info.st_size, shown, what)
        with path.open("rb") as stream:
            # Bounded read: st_size is 0 for pipes and devices such as /dev/zero.
            data = stream.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError as error:
        raise SpecFileError(
            f"{shown}: no such file; pass the spec's path as the first argument, "
            "e.g. specs/stellar-ttp.yaml"
        ) from error
    except PermissionError as error:
        raise SpecFileError(f"{shown}: permission denied; make the {what} readable") from error
    except OSError as error:
        raise SpecFileError(f"{shown}: cannot be read ({error.strerror or error})") from error
    _check_size(len(data), shown, what, exact=False)
    return data


def _check_size(size: int, shown: str, what: str, *, exact: bool = True) -> None:
    if size > MAX_SPEC_BYTES:
        limit = f"{MAX_SPEC_BYTES // (1024 * 1024)} MiB"
        measured = f"{size / (1024 * 1024):.1f} MiB" if exact else f"more than {limit}"
        raise SpecFileError(
            f"{shown}: too large for a {what} file ({measured}; the limit is {limit}); "
            "is this the right file?"
        )


def read_dotenv(path: Path, shown: str) -> tuple[dict[str, str], list[Problem]]:
    """Variables of a docker-compose style `.env`: `KEY=VALUE` lines, `#` comments.

    A value in single quotes is taken literally; in double quotes `\\n` is a newline, `\\"`
    a quote and `\\\\` a backslash; after the closing quote, and in an unquoted value, a ` #`
    starts a comment.
    """
    text = read_text(path, shown, what=".env")
    variables: dict[str, str] = {}
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match is None:
            message = "expected KEY=VALUE (a letter or _ first, then letters, digits or _)"
            problems.append(Problem((), Mark(number, 1), message))
            continue
        try:
            variables[match.group(1)] = _env_value(match.group(2))
        except ValueError as error:
            problems.append(Problem((), Mark(number, match.start(2) + 1), str(error)))
    return variables, problems


_ESCAPES = {"n": "\n", '"': '"', "\\": "\\"}


def _env_value(raw: str) -> str:
    """The value of one line; ValueError (the fix) for an unclosed quote or text after it."""
    quote = raw[:1]
    if quote not in ("'", '"'):
        return _TRAILING_COMMENT.sub("", raw)
    value: list[str] = []
    index = 1
    while index < len(raw) and raw[index] != quote:
        if quote == '"' and raw[index] == "\\" and raw[index + 1 : index + 2] in _ESCAPES:
            value.append(_ESCAPES[raw[index + 1]])
            index += 2
            continue
        value.append(raw[index])
        index += 1
    if index >= len(raw):
        raise ValueError(f"the value's {quote} is never closed: end it with {quote}")
    rest = raw[index + 1 :]
    if rest.strip() and not _TRAILING_COMMENT.fullmatch(rest):
        raise ValueError(f"text after the closing {quote}: {rest.strip()!r} (a comment is ' #...')")
    return "".join(value)
