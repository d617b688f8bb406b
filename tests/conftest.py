"""What every tier shares: markers by folder, `repo_root`, `anyio_backend`, and `free_port`
(from ports.py).

Each tier's own fixtures live in its folder's conftest.py (unit/, integration/, e2e/,
fault/, bench/). Helpers that tests import are plain modules beside this one (ports.py,
polling.py, tcp_proxy.py, certificates.py): a test never imports a conftest, because every
folder's conftest.py is a module named `conftest`.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
from flowctl.cancelled_calls import simulated_interrupt
from ports import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
TIERS = ("unit", "integration", "e2e", "fault", "bench")

__all__ = ["REPO_ROOT", "TIERS", "free_port"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(REPO_ROOT / "tests").parts
        if parts and parts[0] in TIERS:
            item.add_marker(getattr(pytest.mark, parts[0]))
    # Tests that run for minutes by design go first: under pytest-xdist (`make test`) they
    # then overlap with the rest of the suite instead of being the last thing it waits for.
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def anyio_backend() -> str:
    """`pytest.mark.anyio` tests run on asyncio, the loop the runner uses."""
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def _flowrun_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Runners started by tests record themselves (for `flowrun ps`) in a folder of this
    session, not in the user's own $XDG_RUNTIME_DIR/flowrun."""
    home = tmp_path_factory.mktemp("flowrun-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLOWRUN_HOME", str(home))
        yield home


@pytest.fixture(autouse=True)
def _no_simulated_ctrl_c() -> Iterator[None]:
    """pyarrow simulates a SIGINT for a Flight call cancelled in any thread
    (flowctl.cancelled_calls), and the SDK tests make such calls in this process: a pool
    probing a server a test restarts. It interrupted CI runs (the worker's
    KeyboardInterrupt); a Ctrl-C, or pytest-xdist stopping a worker, still interrupts.
    Installed for each test: asyncio's remove_signal_handler (the in-process runner tests)
    puts Python's default SIGINT handler back, not the one it found."""
    previous = signal.getsignal(signal.SIGINT)

    def handle(signum: int, frame: FrameType | None) -> None:
        if simulated_interrupt():
            return
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGINT, handle)
    yield
    signal.signal(signal.SIGINT, previous)
