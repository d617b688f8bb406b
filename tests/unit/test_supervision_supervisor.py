"""The whole pipeline on fakes: inputs start first (independent components together), a
component waiting on a failed input says so in its first result, and stops go downstream
first."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.supervision_fakes import component, eventually, supervising
from flowrun.supervision.states import ComponentState, StartResult

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]


async def test_inputs_start_first_and_independent_components_start_together(tmp_path: Path) -> None:
    components = {
        "join": component("sink", inputs=["left", "right"]),
        "left": component(),
        "right": component(),
    }
    async with supervising(tmp_path, components) as rig:
        rig.begin()
        await eventually(
            lambda: rig.spawn.launched("left") and rig.spawn.launched("right"), "both sources"
        )
        join = rig.component("join")

        assert rig.spawn.launched("join") == 0  # launched only once both inputs are ready
        assert (join.state, join.waiting_for) == (ComponentState.STARTING, "inputs: left, right")
        rig.control.register("left")
        await eventually(lambda: join.waiting_for == "inputs: right", "join waits for right")
        assert rig.spawn.launched("join") == 0
        rig.control.register("right")
        await eventually(lambda: rig.spawn.launched("join"), "join launched")
        rig.control.register("join")
        assert rig.starting is not None
        results = await rig.starting

        assert [result.name for result in results] == ["left", "right", "join"]
        assert all(result.ready for result in results)
        assert rig.spawn.journal[:2] == ["launch left", "launch right"]
        assert rig.said("pipeline: 3/3 components ready in")


async def test_a_component_whose_input_failed_is_reported_waiting_for_it(tmp_path: Path) -> None:
    components = {
        "src": component(restart={"policy": "never"}),
        "proc": component("processor", inputs=["src"]),
        "sink": component("sink", inputs=["proc"]),
    }
    async with supervising(tmp_path, components) as rig:
        rig.begin()
        await eventually(lambda: rig.spawn.launched("src"), "src launched")
        rig.spawn.latest("src").exit(1)
        assert rig.starting is not None
        src, proc, sink = await rig.starting

        why = "exited with code 1 before it was ready (restart policy: never)"
        assert not src.ready and src.message.startswith(why)
        assert proc == StartResult(
            "proc", False, f"waiting for its input 'src' ({why} (it printed nothing))"
        )
        assert sink.message == f"waiting for its input 'proc' ({proc.message})"
        assert rig.component("proc").waiting_for == "inputs: src"  # and it keeps waiting
        assert rig.spawn.launched("proc") == rig.spawn.launched("sink") == 0
        assert rig.said("pipeline: 0/3 components ready in")


async def test_stop_all_stops_downstream_first(tmp_path: Path) -> None:
    components = {
        "src": component(),
        "proc": component("processor", inputs=["src"]),
        "sink": component("sink", inputs=["proc"]),
        "audit": component("sink", inputs=["src"]),
    }
    async with supervising(tmp_path, components) as rig:
        for name in components:
            rig.control.register(name)
        await rig.supervisor.start()
        del rig.spawn.journal[:]

        stopped = await rig.supervisor.stop_all()

        order = rig.spawn.journal
        assert stopped == dict.fromkeys(components, False)
        assert order.index("stopped sink") < order.index("stop proc")
        assert order.index("stopped proc") < order.index("stop src")
        assert order.index("stopped audit") < order.index("stop src")
        # Components that depend on nothing being stopped do not wait for each other.
        assert order.index("stop audit") < order.index("stopped sink")
        assert all(rig.component(name).state is ComponentState.STOPPED for name in components)
