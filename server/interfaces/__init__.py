"""Interfaces: CouchDB HTTP, the ledger web pages, the geo JSON API, the CLI."""
