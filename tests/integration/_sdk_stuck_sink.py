"""A sink on the SDK that pulls its one input forever, retrying after every failure: run
as a program by test_sdk_startup_and_stop.py, against inputs and controllers that do not
answer."""

from __future__ import annotations

from flowctl import Component, FlowctlError, run_component


class RetryingSink(Component):
    def work(self) -> None:
        while not self.stopping.is_set():
            try:
                for _ in self.read_input():
                    pass
            except FlowctlError as e:
                self.log.warning("input failed (%s): trying again", e)


if __name__ == "__main__":
    raise SystemExit(run_component(RetryingSink))
