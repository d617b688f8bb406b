"""The flowctl control plane: registry, heartbeats, discovery, backpressure, policy.

controller = Controller(Policy.from_spec(body), listen="127.0.0.1:0")
address = await controller.start()
"""

from __future__ import annotations

from flowrun.controller.policy import Policy
from flowrun.controller.server import Controller
from flowrun.controller.views import ServiceView

__all__ = ["Controller", "Policy", "ServiceView"]
