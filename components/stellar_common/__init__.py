"""What the three Stellar components agree on, shared without importing each other.

The Arrow schemas of the two streams (`ledger_schema`: StellarLedger, `event_schema`:
TTPEvent) with their stream names, the ledger span every Flight message carries
(`spans`), the array helpers the generator and the processor both vectorise with
(`vectors`), and what the source and the processor both read the same way from a
ledger's XDR (`xdr`: network ids, transaction hashes, envelopes, account strkeys). The
components import this package and flowctl, never one another, so each can change, be
replaced or be rewritten in Go on its own.
"""
