"""The field accounts the ledger's dashboard asks after: who has not synced lately."""
from __future__ import annotations

import datetime as dt

from server.core import clock
from server.services.devices import not_synced_since


def stale_accounts(area: str, days: int) -> list[dict]:
    """Field accounts under `area` whose devices last synced more than `days` days ago (or never)."""
    cutoff = clock.now() - dt.timedelta(days=days)
    return [{"name": account.name, "display_name": account.display_name, "role": account.role,
             "scope": account.scope, "last_sync": last}
            for account, last in not_synced_since(cutoff) if account.scope.startswith(area)]
