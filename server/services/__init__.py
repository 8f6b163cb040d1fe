"""Services over the domain core: records, calendar, geo, ledger index, quarantine, tokens."""
