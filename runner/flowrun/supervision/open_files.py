"""How many files the runner may hold open (raised at start, and said when too few), and
the launches the system refuses for now: out of files, or of processes.

Each component costs the runner about FILES_PER_COMPONENT descriptors (its output pipe, its
log and the log's index, a pidfd, its connection to the embedded controller, a health poll).
Under a low limit (a systemd unit's LimitNOFILE soft 1024, a container's, `ulimit -n`),
components failed to start one by one with `supervisor error: OSError: [Errno 24] Too many
open files` and were never tried again. Now the runner raises its soft limit to the hard one
at start, as Go programs (the flowctl controller among them) do by themselves, says at start
when even that is too few for the spec, and a start that runs out of files is retried with
backoff, its error naming the limit and the fix. (The components inherit the raised soft
limit; one that needs the old one can set it itself.) So is a start the system refuses a new
process for (EAGAIN: the user's `ulimit -u`, a container's pids.max; ENOMEM): it was fatal,
`cannot start python: [Errno 11] Resource temporarily unavailable`, as if the program were
missing.
"""

from __future__ import annotations

import contextlib
import errno
import resource

FILES_PER_COMPONENT = 6
FILES_OF_THE_RUNNER = 32
"""Its controller, admin and metrics servers, event loop, spec watcher and own logs."""
HIGHEST_SOFT_LIMIT = 1 << 20
"""Linux's default fs.nr_open: the most a soft limit can be when the hard one is unlimited."""
REFUSED_FOR_NOW = (errno.EMFILE, errno.ENFILE, errno.EAGAIN, errno.ENOMEM)
RAISE_IT = (
    "raise the hard limit: `ulimit -Hn` (as root), LimitNOFILE= in a systemd unit, "
    "`docker run --ulimit nofile=N`"
)


def raise_open_files_limit() -> None:
    """Raise this process's soft limit of open files to its hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = HIGHEST_SOFT_LIMIT if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):  # refused (a lower fs.nr_open)
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def open_files_limit() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return HIGHEST_SOFT_LIMIT if soft == resource.RLIM_INFINITY else soft


def too_few_files(components: int, limit: int) -> str | None:
    """The start-up warning when `limit` is short of what `components` need; None if not."""
    needed = FILES_OF_THE_RUNNER + FILES_PER_COMPONENT * components
    if limit >= needed:
        return None
    return (
        f"warning: this runner may hold {limit} open files, and {components} components need "
        f"about {needed}: some may fail to start with 'Too many open files'; {RAISE_IT}"
    )


def refused_for_now(error: OSError) -> bool:
    """A launch the system refused for want of files or processes: worth trying again."""
    return error.errno in REFUSED_FOR_NOW


def refusal_reason(error: OSError) -> str:
    """Why the system refused a launch, and the fix."""
    if error.errno == errno.ENFILE:  # the whole system's table, not this process's limit
        return f"{error.strerror} (the system's limit: sysctl fs.file-max)"
    if error.errno == errno.EAGAIN:
        return (
            f"{error.strerror}: the system refused a new process (the user's process limit, "
            "`ulimit -u`, or the container's pids.max)"
        )
    if error.errno == errno.ENOMEM:
        return f"{error.strerror}: no memory for a new process"
    return (
        f"{error.strerror}: this runner may hold {open_files_limit()} (ulimit -n) and holds "
        f"them all; {RAISE_IT}"
    )
