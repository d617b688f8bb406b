"""When the runner would be process 1 (a container started without `--init`): a minimal init
in front of it.

Process 1 is where the kernel re-parents every orphaned process, and it alone can reap
them. The runner waits only for its own children (each by its pidfd), so every child a
component left behind (a shell's `(job &)`, a program that daemonizes) stayed a zombie for
good: one every few seconds fills the pid table within days, and then nothing can fork.
So process 1 forks, as tini (`docker run --init`) does: the child runs the pipeline in a
process group of its own (the terminal's Ctrl-C reaches it once, not also forwarded),
while process 1 forwards it every signal it is sent (`docker stop`'s SIGTERM, SIGHUP to
reload), reaps whatever exits, and exits as the runner did.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

FORWARDED = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


def init_if_process_1() -> None:
    """Return in the process that is to run the pipeline. As process 1, fork: the child
    returns; process 1 reaps and forwards until the runner ends, then exits as it did."""
    if os.getpid() != 1:
        return
    runner = os.fork()
    if runner == 0:
        _lead_own_group()
        return
    for signum in FORWARDED:
        signal.signal(signum, lambda received, _frame: _forward(runner, received))
    while True:
        try:
            pid, status = os.wait()  # any child: the runner, or an orphan handed to us
        except ChildProcessError:  # pragma: no cover - the runner is ours until it ends
            os._exit(1)
        if pid == runner:
            sys.stdout.flush()
            os._exit(_exit_code(status))


def _lead_own_group() -> None:
    """A process group of its own, in the terminal's foreground when there is one: Ctrl-C
    goes to it alone (forwarded too, it would be a second Ctrl-C: stop at once)."""
    os.setpgid(0, 0)
    with contextlib.suppress(OSError):
        if os.isatty(0):
            previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # allowed from outside it
            try:
                os.tcsetpgrp(0, os.getpgrp())
            finally:
                signal.signal(signal.SIGTTOU, previous)


def _forward(runner: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(runner, signum)


def _exit_code(status: int) -> int:
    """The runner's exit code, or 128 + the signal that ended it, as a shell says it."""
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code
