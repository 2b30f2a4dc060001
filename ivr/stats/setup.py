"""Statistics for a running line: the database from IVR_STATS_URL, the counters, the /stats page."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from ..line.security import ConfigError
from . import dashboard
from .connection import BOUND
from .counters import Counters, describe
from .database import Database, database_url
from .spool import Spool

log = logging.getLogger("ivr.stats")


def open_database(setting: str, state_dir: Path, *, bound: float = BOUND) -> Database | None:
    """The database IVR_STATS_URL names (None when it says off). Raises ConfigError for nonsense."""
    try:
        url = database_url(setting, state_dir)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return Database(url, bound=bound) if url is not None else None


def install_stats(app: Flask) -> None:
    """Count this app's calls. The tables are created (or upgraded) now, and counts that earlier
    processes left on disk are saved; if the database cannot be reached the line starts anyway
    and the counts wait (on disk) until it can."""
    state = Path(app.config["IVR_STATE_DIR"])
    database = open_database(app.config.get("IVR_STATS_URL", ""), state)
    if database is None:
        log.info("Statistics are off (IVR_STATS_URL=off).")
    else:
        spool = Spool(state, database.url)
        try:
            database.ensure_schema()
            spool.save_orphans(database.add)
        except Exception as err:  # noqa: BLE001 - never a reason to keep the line down
            log.error("Statistics database unavailable at start (%s); counts will wait on disk.", describe(err))
        finally:
            database.dispose()  # connections are opened by the processes that answer calls
        app.extensions["ivr_count"] = Counters(database, spool)
    dashboard.register(app)
