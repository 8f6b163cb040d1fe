"""gunicorn's configuration that follows from the settings, for `python -m server serve`."""
from __future__ import annotations

from server.core.settings import Settings


def logconfig_dict(settings: Settings) -> dict | None:
    """gunicorn's `logconfig_dict`: its own lines in JSON too when PAICHA_LOG_FORMAT=json, with
    credentials masked; None otherwise (gunicorn's defaults)."""
    if settings.log_format != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask": {"()": "server.core.logs.MaskCredentials"}},
        "formatters": {"json": {"()": "server.core.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["mask"],
                                 "stream": "ext://sys.stderr"}},
        "root": {"level": settings.log_level, "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
