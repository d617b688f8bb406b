"""Deployment targets: the same spec, run by something other than the local supervisor.

Beside `flowrun.supervision` (the local runner's processes), fed by the same process
definition of a component (`flowrun.spec.process`): its settings and environment. Each
target is a package (`kubernetes`) that turns a `LoadedSpec` into what that platform runs.
It imports `flowrun.spec`, `flowctl` and `flowrun.errors`, never the supervisor, the
daemon, reload or the CLI.
"""
