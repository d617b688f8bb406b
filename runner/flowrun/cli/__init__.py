"""The `flowrun` command line (`main`): one module per group of commands, each exporting
COMMANDS. The only layer that turns an error into a message and an exit code."""
