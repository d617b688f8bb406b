"""flowctl: the SDK every flowrun component uses."""
