"""fakewatch's check log: models, migrations and the durable job queue.

Imports nothing else of fakewatch: every function takes a URL, an engine or a session, so the
bot, the serving app and the operator tools can all share it.
"""

from db import api_keys, filters, jobs, queries, stats
from db.constants import DEFAULT_THRESHOLD, THRESHOLDS, VERDICTS, CheckStatus, Source
from db.engine import DatabaseURLError, create_engine, normalize_url, redact_url, session_factory
from db.export import csv_safe, export_csv
from db.filters import CheckFilter, FilterError
from db.jobs import AlbumItem, CheckNotFound, Lease, Outcome
from db.migrate import (
    MigrationError,
    check_migrations,
    current_revision,
    head_revision,
    upgrade,
)
from db.models import Album, ApiKey, Base, ChatSettings, Check, Feedback, IngestMark, ProcessedUpdate, StatsDay

__all__ = [
    "DEFAULT_THRESHOLD",
    "THRESHOLDS",
    "VERDICTS",
    "Album",
    "AlbumItem",
    "ApiKey",
    "Base",
    "ChatSettings",
    "Check",
    "CheckFilter",
    "CheckNotFound",
    "CheckStatus",
    "DatabaseURLError",
    "Feedback",
    "FilterError",
    "IngestMark",
    "Lease",
    "MigrationError",
    "Outcome",
    "ProcessedUpdate",
    "Source",
    "StatsDay",
    "api_keys",
    "check_migrations",
    "create_engine",
    "csv_safe",
    "current_revision",
    "export_csv",
    "filters",
    "head_revision",
    "jobs",
    "normalize_url",
    "queries",
    "redact_url",
    "session_factory",
    "stats",
    "upgrade",
]
