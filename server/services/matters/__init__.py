"""A matter's life (事项办理): a `dispute` document is the matter, each later step a `matter_step`
document of its own.

    stages.py    pure: the stage, the deadlines and what is overdue, from the steps in time order
    tables.py    the read model's tables: registration numbers, steps, derived states
    index.py     the projection that keeps them inside each write's transaction
    steps.py     the server's writes of a step (the web forms, the API), checked against the matter
    queries.py   reads for the pages and the API
"""
