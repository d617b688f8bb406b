"""Hot reload: edit the spec, and the running pipeline follows.

The runner builds a `reloader.Reloader` on itself (a `running_pipeline.RunningPipeline`)
and routes every trigger to it. The pieces: `diff` (changed fields and their `x-reload`
class), `plan` (what a reload would do), `plan_report` and `outcome` (plans and outcomes
as typed values, with their JSON), `history` (what `status` shows about reloads),
`render` (plans and outcomes as text), `watcher` (editor-proof file watching), `apply`
(applying a plan, rolling back what did not come up) and `reloader` (the coordinator).
Nothing is imported here: `flowrun plan` only needs `render`.
"""
