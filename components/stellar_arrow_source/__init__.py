"""stellar-arrow-source: Stellar ledgers as Arrow record batches over Flight."""
