"""Supervision: child processes, the orphan guardian, restart backoff, readiness, and one
supervised component's state machine; the supervisor runs a whole pipeline of them. What
it is given from outside (a clock, a way to spawn a process) is in `boundary`, where unit
tests put their fakes.

Kept free of imports: the guardian watchdog runs as `python -m flowrun.supervision.guardian`
and must start in milliseconds.
"""
