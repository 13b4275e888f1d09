"""SQLAlchemy 2 models: the check log (which doubles as the bot's job queue) and its neighbours.

Portable on purpose: the same models run on the embedded SQLite default and on PostgreSQL, so
types are chosen to behave alike on both (UTC timestamps, JSON that is JSONB on PostgreSQL,
enums stored as short strings). Index names come from one naming convention so Alembic sees
the same names on both backends.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from db.constants import DEFAULT_THRESHOLD, CheckStatus, Source

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
PortableJSON = JSON().with_variant(JSONB(), "postgresql")
# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


# What ``ix_checks_created_at`` carries along on PostgreSQL (see ``Check.__table_args__``).
COVERING_COLUMNS = (
    "verdict", "media_kind", "source", "status", "model_version", "chat_id", "latency_ms",
    "fake_probability",
)  # fmt: skip


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Always-aware UTC timestamps: SQLite drops the zone, PostgreSQL keeps it; callers see UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        # SQLite compares timestamps as text: store them naive in UTC so the order is right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None or value.tzinfo is dt.UTC:  # asyncpg already gives UTC
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _str_enum(enum_cls: type, name: str) -> Enum:
    """Store an enum as its value in a short VARCHAR: no native type to migrate on PostgreSQL."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Check(Base):
    """One check of one media item: the operator's record and, while open, the bot's job."""

    __tablename__ = "checks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)

    # --- the job --------------------------------------------------------------------
    status: Mapped[CheckStatus] = mapped_column(_str_enum(CheckStatus, "check_status"), default=CheckStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When a queued job may run, or (while running) when its lease ends and it may be taken over.
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    worker_id: Mapped[str | None] = mapped_column(String(64))
    # A fresh token per claim: every final write names it, so a worker whose lease was taken
    # over (it was slow, paused, cut off from the database) writes nothing.
    lease_token: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON)
    # Serving timed out on this file this many times (the file's fault, not the service's).
    timeouts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The outcome (result or failure) is stored: only the answer is left to send.
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # The answer: claimed (committed) before the send, stamped after it. A live claim is a lease
    # of its own: only its sender (``answer_token``) may stamp it, and nobody else sends the answer
    # until it is ``lease_s`` old. ``answer_claims`` > 1: the answer was sent again after a claim
    # whose sender never stamped it (it died, or its send failed in a way that may have reached
    # Telegram).
    answer_claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    answer_token: Mapped[str | None] = mapped_column(String(32))
    answer_claims: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # The album (``Album.album_key``) this item belongs to; its one reply is the album's.
    album_key: Mapped[str | None] = mapped_column(String(64))

    # --- what was checked and where (no media bytes, no raw user ids) ------------------
    source: Mapped[Source] = mapped_column(_str_enum(Source, "check_source"))
    media_kind: Mapped[str | None] = mapped_column(String(16))
    sha256: Mapped[str | None] = mapped_column(String(64))
    file_id: Mapped[str | None] = mapped_column(String(255))
    file_unique_id: Mapped[str | None] = mapped_column(String(64))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    user_pseudonym: Mapped[str | None] = mapped_column(String(64))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    media_group_id: Mapped[str | None] = mapped_column(String(64))
    update_id: Mapped[int | None] = mapped_column(BigInteger)

    # --- what the models said -------------------------------------------------------
    verdict: Mapped[str | None] = mapped_column(String(16))
    fake_probability: Mapped[float | None] = mapped_column(Float)
    faces_count: Mapped[int | None] = mapped_column(Integer)
    frames_sampled: Mapped[int | None] = mapped_column(Integer)
    model_name: Mapped[str | None] = mapped_column(String(64))
    model_version: Mapped[str | None] = mapped_column(String(64))
    timings_ms: Mapped[dict[str, float] | None] = mapped_column(PortableJSON)
    # timings_ms["total"] (or their sum) as a column, so percentiles need no JSON parsing.
    latency_ms: Mapped[float | None] = mapped_column(Float)
    result: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        # Covering on PostgreSQL: the operator's window counts and percentiles become
        # index-only scans of this narrow index instead of reads of the wide rows.
        Index(None, "created_at", postgresql_include=list(COVERING_COLUMNS)),
        Index(None, "verdict", "created_at"),
        Index(None, "chat_id", "created_at"),
        Index(None, "user_pseudonym", "created_at"),
        Index(None, "model_version", "created_at"),
        Index(None, "file_unique_id", "model_version"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "album_key"),
    )

    def __repr__(self) -> str:
        return f"<Check id={self.id} status={self.status} verdict={self.verdict}>"


class Feedback(Base):
    """A user's "was this right?" answer; one per voter and check (a new vote replaces it)."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    check_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("checks.id", ondelete="CASCADE"))
    voter_pseudonym: Mapped[str] = mapped_column(String(64))
    agrees: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("check_id", "voter_pseudonym"),
        Index(None, "created_at"),
    )


class ChatSettings(Base):
    """Per-group settings; no title or member data is kept."""

    __tablename__ = "chat_settings"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    autocheck: Mapped[bool] = mapped_column(Boolean, default=False)
    threshold: Mapped[str] = mapped_column(String(16), default=DEFAULT_THRESHOLD)
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProcessedUpdate(Base):
    """Telegram update ids already handled: a redelivered update does nothing."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index(None, "seen_at"),)


class StatsDay(Base):
    """The operator stats of one settled UTC day, so wide windows need not rescan a million rows.

    Written by ``db.queries.stats`` the first time a settled day (over a day old) is asked for,
    and deleted by every ``db.jobs`` write that changes a check of that day (a late completion,
    a purge, a chat migration), so it is never stale. PostgreSQL only; SQLite logs are small.
    """

    __tablename__ = "stats_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    counts: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    computed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiKey(Base):
    """A key of the HTTP API: only its SHA-256 is kept (the key is shown once, at creation).

    ``fakewatch ops keys`` edits these rows and writes the active ones to the key file that the
    serving ingress reads (serving holds no database credentials).
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)  # the public part of the key
    name: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    requests_per_minute: Mapped[int] = mapped_column(Integer)
    bytes_per_hour: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index(None, "name"),)


class Album(Base):
    """One Telegram album (media group) across bot processes: its items and its single reply.

    Items are counted when their job rows are written (same transaction). The album is complete
    once the poller has fetched everything Telegram held ``debounce`` after its last item (the
    ingest watermark) and every item is finished; then one worker claims the reply (a lease of
    its own, ``reply_token``) and stamps ``replied_at`` after sending.
    """

    __tablename__ = "albums"

    # sha256 of "<chat id>:<media group id>" (a media group id is unique per chat only).
    album_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # forgotten for private chats once replied
    reply_to_message_id: Mapped[int | None] = mapped_column(BigInteger)  # the first item
    private: Mapped[bool] = mapped_column(Boolean, default=True)
    silent: Mapped[bool] = mapped_column(Boolean, default=False)
    threshold: Mapped[str] = mapped_column(String(16), default=DEFAULT_THRESHOLD)
    items: Mapped[int] = mapped_column(Integer, default=0)
    first_item_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_item_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    reply_token: Mapped[str | None] = mapped_column(String(32))
    reply_claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    reply_claims: Mapped[int] = mapped_column(Integer, default=0)
    replied_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index(None, "replied_at", "last_item_at"),)


class IngestMark(Base):
    """Named timestamps of the update intake, e.g. ``telegram``: everything Telegram held up to
    ``at`` is committed (the poller advances it after a batch that drained the backlog)."""

    __tablename__ = "ingest_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
