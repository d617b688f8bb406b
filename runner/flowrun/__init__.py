"""flowrun: a declarative pipeline runner."""
