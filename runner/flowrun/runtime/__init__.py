"""Running a pipeline: the supervisor, its processes, logs, state and admin endpoint.

Kept free of imports: the guardian watchdog runs as `python -m flowrun.runtime.guardian`
and must start in milliseconds.
"""
