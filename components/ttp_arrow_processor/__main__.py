"""`python -m ttp_arrow_processor`: run the processor with the settings from the environment."""

from __future__ import annotations

from flowctl.run import run_component

from ttp_arrow_processor.server import TtpArrowProcessor

if __name__ == "__main__":
    raise SystemExit(run_component(TtpArrowProcessor))
