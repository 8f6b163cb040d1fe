"""The domain core: settings, the store's tables, areas, accounts, access and the write hooks."""
