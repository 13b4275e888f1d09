"""The ``api_keys`` table: add, list and revoke HTTP API keys (hashes only, never a key).

The caller makes the key and its hash (``serving.api_keys``); this module only stores them, as
``db`` imports nothing else of fakewatch. ``fakewatch ops keys`` writes the active rows to the
key file the serving ingress reads after every change.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiKey, utcnow

MAX_NAME_CHARS = 64


class ApiKeyError(ValueError):
    """No such key, a name that matches several keys, or a bad value; the message says which."""


async def add_key(
    session: AsyncSession,
    *,
    key_id: str,
    name: str,
    key_hash: str,
    requests_per_minute: int,
    bytes_per_hour: int,
) -> ApiKey:
    """Store a new key (committed). Names need not be unique, but must say who holds the key."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise ApiKeyError(f"a key name is 1 to {MAX_NAME_CHARS} characters, got {name!r}")
    if requests_per_minute < 1 or bytes_per_hour < 1:
        raise ApiKeyError("a key's requests per minute and bytes per hour must be positive")
    row = ApiKey(
        key_id=key_id, name=name, key_hash=key_hash,
        requests_per_minute=int(requests_per_minute), bytes_per_hour=int(bytes_per_hour),
    )  # fmt: skip
    session.add(row)
    await session.commit()
    return row


async def list_keys(session: AsyncSession, *, include_revoked: bool = False) -> list[ApiKey]:
    """Keys, oldest first; revoked ones only when asked for."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list((await session.scalars(query)).all())


async def active_keys(session: AsyncSession) -> list[ApiKey]:
    return await list_keys(session)


async def revoke_key(session: AsyncSession, ident: str) -> ApiKey:
    """Revoke the active key whose id (or, if unique among active keys, name) is ``ident``."""
    rows = list(
        (
            await session.scalars(
                select(ApiKey).where(ApiKey.revoked_at.is_(None), or_(ApiKey.key_id == ident, ApiKey.name == ident))
            )
        ).all()
    )
    by_id = [r for r in rows if r.key_id == ident]
    if by_id:
        rows = by_id
    if not rows:
        raise ApiKeyError(f"no active API key has the id or name {ident!r}")
    if len(rows) > 1:
        ids = ", ".join(r.key_id for r in rows)
        raise ApiKeyError(f"{len(rows)} active keys are named {ident!r} ({ids}): revoke one by its id")
    row = rows[0]
    row.revoked_at = utcnow()
    await session.commit()
    return row
