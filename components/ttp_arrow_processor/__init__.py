"""ttp-arrow-processor: token transfer events extracted from Stellar ledgers, over Flight."""
