"""What supervision is given, as protocols: the seams a unit test puts its fakes in.

- `Clock`: the two clocks it reads. Deadlines, backoff windows and uptimes are measured on
  the monotonic clock; heartbeats and registrations come from the controller stamped in
  epoch seconds, so judging their age needs the wall clock. Waiting itself stays with
  asyncio: a test keeps waits short (millisecond backoffs and ticks) and moves its clock
  to cross a long deadline.
- `Spawn` and `Process`: how a component's process is started, and what is asked of it
  afterwards. The real ones are `flowrun.supervision.process.spawn` and `ChildProcess`.
- `ComponentHost`: what one supervised component needs from its supervisor.

The real clock and spawn are the defaults everywhere; only tests pass others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from flowrun.spec.model import PipelineBody
    from flowrun.supervision.controlplane import ControlPlane
    from flowrun.supervision.output import OutputStream
    from flowrun.supervision.port_book import ComponentPorts
    from flowrun.supervision.states import ChangeNotifier
    from flowrun.supervision.supervised import SupervisedComponent

OutputHandler = Callable[[bytes], None]


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (deadlines, windows, uptimes)."""
        ...

    def time(self) -> float:
        """Epoch seconds (to compare with the controller's timestamps)."""
        ...


class SystemClock:
    """The real clocks of the `time` module."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


SYSTEM_CLOCK: Clock = SystemClock()


class Process(Protocol):
    """One running component process and its process group."""

    @property
    def pid(self) -> int: ...

    @property
    def started_at(self) -> float:
        """Epoch seconds (what the controller's registrations are compared with)."""
        ...

    @property
    def started_monotonic(self) -> float: ...

    @property
    def returncode(self) -> int | None: ...

    @property
    def exited(self) -> asyncio.Future[int]:
        """Resolved with the exit status when the process itself ends."""
        ...

    @property
    def output_transport(self) -> asyncio.ReadTransport | None: ...

    def signal_group(self, signum: int) -> bool: ...

    async def stop(self, grace_seconds: float) -> bool:
        """SIGTERM, SIGKILL after the grace; True when it had to be killed."""
        ...

    async def reap_group(self, grace_seconds: float) -> int:
        """After the leader exited: stop what it left in its group; how many were left."""
        ...


class Spawn(Protocol):
    async def __call__(
        self,
        component: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        on_output: OutputHandler,
    ) -> Process:
        """Start one component; ComponentLaunchError when the OS refuses to run it."""
        ...


class ComponentHost(Protocol):
    """What a component needs from its supervisor."""

    changes: ChangeNotifier
    control: ControlPlane
    spec_dir: Path

    def body(self) -> PipelineBody: ...

    def event(self, text: str) -> None: ...

    def environ_for(self, name: str) -> dict[str, str]: ...

    def masked_values(self, environ: Mapping[str, str]) -> list[str]:
        """What a component's output shows as ***: the secret-looking variables of its
        `environ`, and the spec's secrets wherever the spec put them (config, arguments)."""
        ...

    def ports_of(self, name: str) -> ComponentPorts:
        """Where the component listens: ports written 0 picked at its first start."""
        ...

    def missing_inputs(self, name: str) -> list[str]: ...

    def output_for(self, name: str) -> OutputStream: ...

    def launched(self, name: str, child: Process) -> None: ...

    def exited(self, name: str, child: Process) -> None: ...

    def state_changed(self, component: SupervisedComponent) -> None: ...
