"""One consistent reading of a FlowController: what heartbeats, metrics and health use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FlowSnapshot:
    """One consistent reading of a FlowController (what heartbeats and metrics send)."""

    inflight: int
    max_inflight: int
    load: float
    throughput: float
    latency_seconds: float
    throttle_rate: float
    backpressure_active: bool
    controller_connected: bool
    completed_total: int

    def heartbeat_metrics(self) -> dict[str, float]:
        return {
            "inflight": float(self.inflight),
            "max_inflight": float(self.max_inflight),
            "load": self.load,
            "throughput": self.throughput,
            "latency_seconds": self.latency_seconds,
            "throttle_rate": self.throttle_rate,
            "backpressure_active": 1.0 if self.backpressure_active else 0.0,
        }
