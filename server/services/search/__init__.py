"""Search across matters (disputes), screening reports, household visits and households: by a
party's name (any part of it, one Chinese character and up), a phone number or any part of it, a
registration number, or a word of the text; scoped to the viewer's area, and a matter's personal data
searched only for those who see it whole (`server.services.privacy`).

    tables.py   search_documents (each document's searchable text), search_grams (its character
                pairs, indexed: a query's pairs find the candidates, its text confirms them)
    index.py    the read model that keeps them (a projection, inside every write's transaction)
    queries.py  the search
"""
