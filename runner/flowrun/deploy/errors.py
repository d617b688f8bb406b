"""What a deployment target refuses to export, in the one flowrun error hierarchy."""

from __future__ import annotations

from flowrun.errors import FlowrunError


class ExportError(FlowrunError):
    """A spec that cannot be turned into a target's objects as it is: the message names
    the file, the key and what to change."""
