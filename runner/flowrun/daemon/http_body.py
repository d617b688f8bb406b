"""The one GET the runner makes of a component's own HTTP endpoints (`/health`,
`/metrics`): blocking, bounded in time and in size, and never an error."""

from __future__ import annotations

import contextlib
import http.client
import urllib.error
import urllib.request


def read_body(
    url: str, timeout_seconds: float, max_bytes: int, *, error_body: bool = False
) -> bytes | None:
    """At most `max_bytes + 1` bytes of the answer (one more than allowed: the caller
    refuses a body that long), or None when nothing answers. An HTTP error status gives its
    own body when `error_body`, else None. Blocking: call it on a worker thread."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_seconds) as response:
            body: bytes = response.read(max_bytes + 1)
            return body
    except urllib.error.HTTPError as e:
        with contextlib.closing(e):
            return e.read(max_bytes + 1) if error_body else None
    except (OSError, ValueError, http.client.HTTPException):
        # HTTPException: something that is not HTTP answered (a gRPC server on the port).
        return None
