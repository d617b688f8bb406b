"""arrow-analytics-sink: token transfer events committed exactly once to Parquet and JSON Lines."""
