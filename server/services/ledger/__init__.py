"""The ledger's read model: the index the pages query, and the queries."""
