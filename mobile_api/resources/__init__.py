"""The API's routes, one module per resource; importing them registers them on `api.bp`."""
from mobile_api.resources import account, figures, matters, meta, notices, records, session, work  # noqa: F401
