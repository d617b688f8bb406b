"""Secret values kept out of what the runner writes of a component's output: its log file,
the prefixed console, and the last lines quoted in `status` and `runner.log` when it fails.

The secrets of a component are the values of the environment variables it is started with
whose names look secret (TOKEN, SECRET, PASSWORD, KEY: what `flowrun render` masks), the
controller token (FLOWCTL_TOKEN) among them. Each is written `***`, also when it arrives
split over two reads of the pipe: the end of a read that could begin a secret is held back
until the next read (or the flush when the process ends) tells.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flowrun.spec.render import MASK, SECRET_NAME

# Shorter values ("1", "yes", "on") would mask ordinary words everywhere in the output.
MIN_SECRET_CHARS = 4
_MASK = MASK.encode()


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The values to mask in the output of a process started with `environ`."""
    return [
        value
        for name, value in environ.items()
        if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_CHARS
    ]


class Redactor:
    """Masks known secret values in a stream of bytes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._held = b""
        self._secrets: list[bytes] = []
        self.use(secrets)

    def use(self, secrets: Iterable[str]) -> None:
        """Mask these values from now on (a restarted process may have other ones)."""
        # Longest first: a secret that contains another is masked whole.
        self._secrets = sorted({s.encode() for s in secrets if s}, key=len, reverse=True)

    def __call__(self, data: bytes) -> bytes:
        if not self._secrets and not self._held:
            return data
        text = self._held + data
        for secret in self._secrets:
            text = text.replace(secret, _MASK)
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
