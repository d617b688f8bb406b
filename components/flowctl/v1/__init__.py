"""Generated stubs of proto/flowctl/v1 (`make proto`)."""
