"""`python -m server.ops probe|check-db`: the container health checks, under the name the image's
HEALTHCHECK and the compose file call them by (server/interfaces/cli/health.py has them).

What else operations need lives with its layer: the settings in server/core/settings.py, logs in
server/core/logs.py, metrics in server/core/metrics.py, readiness in server/core/health.py, the
/_health, /_ready and /_metrics endpoints in server/interfaces/monitoring.py, gunicorn's log
configuration in server/gunicorn_config.py.
"""
from __future__ import annotations

import sys

from server.interfaces.cli.health import main

if __name__ == "__main__":
    sys.exit(main())
