"""`python -m arrow_analytics_sink`: run the sink with the settings from the environment."""

from __future__ import annotations

from flowctl.run import run_component

from arrow_analytics_sink.server import ArrowAnalyticsSink

if __name__ == "__main__":
    raise SystemExit(run_component(ArrowAnalyticsSink))
