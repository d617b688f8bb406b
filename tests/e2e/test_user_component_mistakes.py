"""A new user's own SDK component, run by `flowrun up`, making the mistakes real user code
makes: each must end in a message that names the cause and the fix, not in a misleading
hint, a bare traceback or silence."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from fixtures.runner_harness import PORT_0, Pipeline, component, write_spec
from polling import wait_for

pytestmark = pytest.mark.timeout(120)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sdk"

# One program, three mistakes: MODE picks which.
USER_COMPONENT = """
import os, time
from flowctl import Component, run_component

MODE = os.environ["MODE"]

class Mine(Component):
    def __init__(self, settings=None):
        super().__init__(settings)
        if MODE == "stuck":
            time.sleep(600)  # a database that never answers
        if MODE == "option":
            self.threshold = self.config["threshold"]  # the spec gives no such key

    def work(self):
        return  # MODE == "returns": nothing to do, by mistake

if __name__ == "__main__":
    raise SystemExit(run_component(Mine))
"""


def start(tmp_path: Path, pipelines: list[Pipeline], mode: str, **extra: str) -> Pipeline:
    (tmp_path / "mine.py").write_text(USER_COMPONENT)
    entry = {
        **component(endpoint=False, command=["python", "mine.py"], env={"MODE": mode}),
        "endpoint": PORT_0,
        **extra,
    }
    pipeline = Pipeline(write_spec(tmp_path, {"mine": entry}))
    pipelines.append(pipeline)
    return pipeline


def test_a_component_stuck_in_init_is_told_where_it_hangs(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """An SDK component registers only once its __init__ returned: the start
    timeout must not tell its author to give it `ready: tcp` as to a program without it."""
    pipeline = start(tmp_path, pipelines, "stuck", start_timeout="2s")
    started = pipeline.up()
    assert started.returncode == 1, started.stdout + started.stderr
    said = pipeline.component("mine")["last_error"]
    assert said.startswith("not ready after 2s (start_timeout)"), said
    assert "an SDK component registers only once its `__init__` returned" in said, said


def test_a_config_key_the_spec_does_not_give_is_one_line_naming_it(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = start(tmp_path, pipelines, "option")
    started = pipeline.up()
    assert started.returncode == 1, started.stdout + started.stderr
    mine = pipeline.component("mine")
    assert mine["exit_code"] == 2, mine
    log = (pipeline.state_dir / "logs" / "mine.log").read_text()
    assert "Traceback" not in log, log
    assert "cannot start mine: config.threshold is not set" in log, log
    assert "components.mine.config" in log, log


def test_work_that_returns_says_so_in_the_log(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    """A sink whose work() returns at once processes nothing yet stays healthy: its log
    must say why it is idle and how to exit instead."""
    pipeline = start(tmp_path, pipelines, "returns")
    started = pipeline.up()
    assert started.returncode == 0, started.stdout + started.stderr
    log = pipeline.state_dir / "logs" / "mine.log"
    wait_for(lambda: "work() returned" in log.read_text(), 15, "work() returning logged")
    assert "self.stop(reason)" in log.read_text()


def test_a_component_run_by_another_python_is_told_to_use_flowruns(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """`command: [/usr/bin/python3, mine.py]`: the interpreter outside flowrun's environment
    (here the one flowrun's virtualenv was made from) has no flowctl. The traceback alone,
    restart after restart, did not say that `python` is flowrun's own interpreter."""
    other_python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}"
    if sys.prefix == sys.base_prefix or not other_python.is_file():
        pytest.skip("flowrun is not installed in a virtualenv here")
    pipeline = start(tmp_path, pipelines, "returns", command=[str(other_python), "mine.py"])
    started = pipeline.up()
    assert started.returncode == 1, started.stdout + started.stderr
    said = pipeline.component("mine")["last_error"]
    assert "No module named 'flowctl'" in said, said
    assert (
        f"{other_python} cannot import flowctl, which flowrun's own interpreter has: write "
        "`python` as the program in `command` to run it there, or install flowctl for "
        f"{other_python}"
    ) in said, said


PROCESSOR_WITHOUT_SCHEMA = """
from flowctl import Component, run_component

class Passthrough(Component):  # no schema(): the docs' table says every method is optional
    def stream(self, ticket):
        yield from self.read_input(after=ticket.after)

if __name__ == "__main__":
    raise SystemExit(run_component(Passthrough))
"""


def test_a_processor_without_schema_says_so_in_its_log_and_to_its_reader(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """schema() raising (here the default, not overridden) is a bug of the component like
    stream() raising: its traceback in its own log, its message to the reader; not a
    silent component and a reader quoting `Python exception: Traceback ...`."""
    shutil.copy(EXAMPLE / "source.py", tmp_path / "source.py")
    (tmp_path / "passthrough.py").write_text(PROCESSOR_WITHOUT_SCHEMA)
    shutil.copy(EXAMPLE / "sink.py", tmp_path / "sink.py")
    spec = write_spec(
        tmp_path,
        {
            "ids": {
                **component(endpoint=False, command=["python", "source.py"]),
                "endpoint": PORT_0,
            },
            "pass": {
                **component("processor", endpoint=False, command=["python", "passthrough.py"]),
                "endpoint": PORT_0,
                "inputs": ["ids"],
            },
            "files": {
                **component("sink", endpoint=False, command=["python", "sink.py"]),
                "inputs": ["pass"],
                "config": {"output_dir": "out"},
            },
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    started = pipeline.up()
    assert started.returncode == 0, started.stdout + started.stderr
    logs = pipeline.state_dir / "logs"

    def said() -> bool:
        return "schema() failed" in (logs / "pass.log").read_text()

    wait_for(said, 30, "the processor's log naming schema()")
    assert "serves no data (override schema)" in (logs / "pass.log").read_text()
    wait_for(lambda: "input pass lost" in (logs / "files.log").read_text(), 30, "a lost input")
    reader_log = (logs / "files.log").read_text()
    assert "schema() failed: NotImplementedError" in reader_log, reader_log
    assert "Python exception" not in reader_log, reader_log
