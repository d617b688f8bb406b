"""Secret values, and keeping them out of what flowrun writes.

A value is secret when it sits in a variable whose name looks secret (TOKEN, SECRET,
PASSWORD, KEY): the environment a component is started with (the controller token,
FLOWCTL_TOKEN, among them) and the variables a spec interpolates. `flowrun render`, the
errors of an invalid spec and the component output the runner writes all show each such
value as `***`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

MASK = "***"
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|KEY", re.IGNORECASE)
# Shorter values ("1", "yes", "on") would mask ordinary words everywhere.
MIN_SECRET_CHARS = 4
_MASK = MASK.encode()


def is_secret_name(name: str) -> bool:
    return SECRET_NAME.search(name) is not None


def is_secret(name: str, value: str) -> bool:
    """A value worth masking wherever it appears: its name looks secret, it is not tiny."""
    return is_secret_name(name) and len(value) >= MIN_SECRET_CHARS


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The values to mask in the output of a process started with `environ`."""
    return [value for name, value in environ.items() if is_secret(name, value)]


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret written `***`."""
    ordered = _longest_first(secrets, _text_bytes)
    return _masked(_text_bytes(text), ordered).decode("utf-8", "surrogatepass") if ordered else text


def _text_bytes(text: str) -> bytes:
    """Any str as bytes and back, exactly: a value read from the environment holds a
    surrogate for each byte that is not UTF-8, which a strict encode refuses."""
    return text.encode("utf-8", "surrogatepass")


def _output_bytes(secret: str) -> bytes:
    """The bytes a process writes for `secret`. An environment value that is not UTF-8
    (`API_KEY=$'\\xff...'` in the user's shell) reaches Python with each such byte as a
    surrogate escape, which is that byte again. (A strict encode raised here, at the
    launch of every component, for one such variable a component merely inherited.)"""
    try:
        return secret.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that escapes no byte
        return _text_bytes(secret)


def _longest_first(secrets: Iterable[str], encode: Callable[[str], bytes]) -> list[bytes]:
    # A secret that contains another is masked whole.
    return sorted({encode(secret) for secret in secrets if secret}, key=len, reverse=True)


def _masked(data: bytes, ordered: list[bytes]) -> bytes:
    for secret in ordered:
        data = data.replace(secret, _MASK)
    return data


class Redactor:
    """Masks known secret values in a stream of bytes (a process's output).

    A secret split over two reads of the pipe is masked too: the end of a read that could
    begin a secret is held back until the next read (or the flush when the process ends)
    tells.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._held = b""
        self._secrets: list[bytes] = []
        self.use(secrets)

    def use(self, secrets: Iterable[str]) -> None:
        """Mask these values from now on (a restarted process may have other ones)."""
        self._secrets = _longest_first(secrets, _output_bytes)

    def __call__(self, data: bytes) -> bytes:
        if not self._secrets and not self._held:
            return data
        text = _masked(self._held + data, self._secrets)
        keep = self._secret_begun_at_end(text)
        self._held = text[len(text) - keep :]
        return text[: len(text) - keep]

    def flush(self) -> bytes:
        """What was held back: the process ended before it became a secret."""
        held, self._held = self._held, b""
        return held

    def _secret_begun_at_end(self, text: bytes) -> int:
        """Length of the longest end of `text` that is the beginning of a secret."""
        longest = 0
        for secret in self._secrets:
            for size in range(min(len(secret) - 1, len(text)), longest, -1):
                if text.endswith(secret[:size]):
                    longest = size
                    break
        return longest
