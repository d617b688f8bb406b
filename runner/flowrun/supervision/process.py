"""One supervised child process: spawned in its own session, stopped by process group.

The child gets its own session (so a Ctrl-C in the terminal reaches the runner alone,
which then stops components in order) and PR_SET_PDEATHSIG, so it is sent SIGTERM if
the runner dies without stopping it. Its grandchildren share its process group and die
with it. The exit is taken from the process itself, not from its pipes: a grandchild may
hold stdout open long after its parent is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from flowrun.errors import ComponentLaunchError
from flowrun.spec.commands import ProgramNotFound, find_program
from flowrun.supervision.boundary import OutputHandler
from flowrun.supervision.guardian import live_pgid
from flowrun.supervision.open_files import refused_for_now

PR_SET_PDEATHSIG = 1
GROUP_POLL_SECONDS = 0.05

_libc_name = ctypes.util.find_library("c")
_prctl = ctypes.CDLL(_libc_name, use_errno=True).prctl if _libc_name else None

_SETPRIV = shutil.which("setpriv")


def resolve_command(
    component: str, command: Sequence[str], cwd: Path, path_env: str | None
) -> list[str]:
    """The argv to exec, or a ComponentLaunchError naming the component and the program."""
    program = command[0]
    try:
        return [find_program(program, cwd, path_env), *command[1:]]
    except ProgramNotFound as e:
        raise ComponentLaunchError(f"component '{component}': command {program!r} {e}") from e


def with_death_signal(argv: Sequence[str]) -> tuple[list[str], Callable[[], None] | None]:
    """argv (and a preexec function) that give the child PR_SET_PDEATHSIG=SIGTERM.

    util-linux `setpriv` does it between fork and exec without running Python in the
    child, which keeps the fast vfork path and the runner's gRPC threads out of the fork.
    """
    if _SETPRIV is not None:
        return [_SETPRIV, "--pdeathsig", "TERM", "--", *argv], None
    return list(argv), _die_with_runner(os.getpid())


def _die_with_runner(runner_pid: int) -> Callable[[], None]:
    def preexec() -> None:
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        # The runner may have died between fork and prctl: then nobody would signal us.
        if os.getppid() != runner_pid:
            os._exit(1)

    return preexec


class _ChildProtocol(asyncio.SubprocessProtocol):
    def __init__(self, on_output: OutputHandler, loop: asyncio.AbstractEventLoop) -> None:
        self._on_output = on_output
        self.transport: asyncio.SubprocessTransport | None = None
        self.exited: asyncio.Future[int] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        self._on_output(data if isinstance(data, bytes) else data.encode())

    def process_exited(self) -> None:
        assert self.transport is not None
        code = self.transport.get_returncode()
        if not self.exited.done():
            self.exited.set_result(code if code is not None else -1)


class ChildProcess:
    """A running (or exited) component process and its process group."""

    def __init__(self, transport: asyncio.SubprocessTransport, protocol: _ChildProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self.pid: int = transport.get_pid()
        self.started_at = time.time()
        self.started_monotonic = time.monotonic()

    @property
    def returncode(self) -> int | None:
        return self._protocol.exited.result() if self._protocol.exited.done() else None

    @property
    def exited(self) -> asyncio.Future[int]:
        """Resolved with the exit status when the process itself ends (pipes aside)."""
        return self._protocol.exited

    @property
    def output_transport(self) -> asyncio.ReadTransport | None:
        pipe = self._transport.get_pipe_transport(1)
        return pipe if isinstance(pipe, asyncio.ReadTransport) else None

    async def wait(self) -> int:
        return await asyncio.shield(self._protocol.exited)

    def signal_group(self, signum: int) -> bool:
        """Signal every process of the group; False when none is left."""
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            return False
        except PermissionError:
            return False
        return True

    def group_alive(self) -> bool:
        # Orphans exited but not reaped (zombies) still answer kill(0): look closer.
        return self.signal_group(0) and live_group_members(self.pid) > 0

    async def stop(self, grace_seconds: float) -> bool:
        """SIGTERM to the group, SIGKILL after the grace; True when it had to be killed."""
        self.signal_group(signal.SIGTERM)
        # A stopped process (SIGSTOP, Ctrl-Z) holds a SIGTERM pending until it runs again:
        # continue it, or every stop of one would wait out the whole grace.
        self.signal_group(signal.SIGCONT)
        deadline = time.monotonic() + grace_seconds
        killed = not await self._wait_group_empty(deadline)
        if killed:
            self.signal_group(signal.SIGKILL)
            await self._wait_group_empty(time.monotonic() + 5.0)
        await self.wait()
        self.close()
        return killed

    async def reap_group(self, grace_seconds: float) -> int:
        """After the leader exited: stop what it left in its group; how many were left."""
        left = live_group_members(self.pid)
        if left:
            await self.stop(grace_seconds)
        self.close()
        return left

    def close(self) -> None:
        if self.returncode is not None:
            self._transport.close()

    async def _wait_group_empty(self, deadline: float) -> bool:
        # The leader's exit is an event; only what it leaves behind needs polling.
        await asyncio.wait([self.exited], timeout=max(0.0, deadline - time.monotonic()))
        while time.monotonic() < deadline:
            if self.returncode is not None and not self.group_alive():
                return True
            await asyncio.sleep(GROUP_POLL_SECONDS)
        return self.returncode is not None and not self.group_alive()


def live_group_members(pgid: int) -> int:
    """Processes of the group that are not zombies (an init that never reaps leaves those)."""
    return sum(
        1
        for entry in os.scandir("/proc")
        if entry.name.isdigit() and live_pgid(int(entry.name)) == pgid
    )


async def spawn(
    component: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    on_output: OutputHandler,
) -> ChildProcess:
    """Start one component; ComponentLaunchError when the OS refuses to run it."""
    loop = asyncio.get_running_loop()
    launch_argv, preexec = with_death_signal(argv)
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _ChildProtocol(on_output, loop),
            *launch_argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env),
            cwd=str(cwd),
            start_new_session=True,
            preexec_fn=preexec,
        )
    except FileNotFoundError as e:
        raise ComponentLaunchError(
            f"component '{component}': {argv[0]} not found ({e.strerror})"
        ) from e
    except PermissionError as e:
        raise ComponentLaunchError(
            f"component '{component}': cannot run {argv[0]}: {e.strerror}"
        ) from e
    except OSError as e:
        if refused_for_now(e):
            raise  # not the program's fault: the start is retried (SupervisedComponent)
        if e.errno == errno.E2BIG:  # it named setpriv, of a command with one argument
            raise ComponentLaunchError(
                f"component '{component}': cannot start {argv[0]}: its command and "
                "environment are more than the system takes (Argument list too long: "
                "128 KiB for one argument or variable, and about a quarter of the stack "
                "limit, `ulimit -s`, in all); pass large values in files"
            ) from e
        raise ComponentLaunchError(f"component '{component}': cannot start {argv[0]}: {e}") from e
    return ChildProcess(transport, protocol)


def kill_group_now(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
