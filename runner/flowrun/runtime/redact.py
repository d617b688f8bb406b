"""Secret values kept out of what the runner writes of a component's output: its log file,
the prefixed console, and the last lines quoted in `status` and `runner.log` when it fails.

The secrets of a component are the values of the environment variables it is started with
whose names look secret (`secret_values`), the controller token (FLOWCTL_TOKEN) among them;
a `Redactor` masks them in the stream. Both live in flowrun.secrets, shared with the spec's
`render` and error messages.
"""

from __future__ import annotations

from flowrun.secrets import MIN_SECRET_CHARS, Redactor, secret_values

__all__ = ["MIN_SECRET_CHARS", "Redactor", "secret_values"]
