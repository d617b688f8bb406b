"""The long-running runner of one pipeline (`flowrun up`): the app, its state directory,
its admin endpoint, the requests it serves, status and metrics."""
