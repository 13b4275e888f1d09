"""Is this exception the database (or the network to it) being away, rather than a bug?

Why it matters: an outage must leave updates unconfirmed and jobs where they are, logged as one
line; a bug is an incident with a traceback. The drivers wrap the same event differently
(asyncpg's own errors, OSError on connect, SQLAlchemy's OperationalError/InterfaceError with
``connection_invalidated``), so the whole ``__cause__``/``__context__`` chain is looked at.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import exc as sa_exc

_OUTAGE_WORDS = (
    "connection refused", "connection was closed", "connection is closed", "shutting down",
    "starting up", "terminating connection", "the database system is", "database is locked",
    "cannot connect now", "connection reset", "server closed the connection", "connection lost",
)  # fmt: skip


def is_outage(exc: BaseException | None) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (OSError, TimeoutError, asyncio.TimeoutError, ConnectionError)):
            return True
        if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                            sa_exc.TimeoutError)):  # fmt: skip
            return True
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        module = type(exc).__module__ or ""
        if module.startswith("asyncpg"):
            name = type(exc).__name__
            if "Connection" in name or name in {"CannotConnectNowError", "AdminShutdownError",
                                                "CrashShutdownError", "InterfaceError",
                                                "InternalClientError"}:  # fmt: skip
                return True
        if any(word in str(exc).lower() for word in _OUTAGE_WORDS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


T = TypeVar("T")


async def retry_while_away(op: Callable[[], Awaitable[T]], *, deadline: float, every_s: float) -> T:
    """Run ``op`` (a fresh unit of work each time) until it succeeds, retrying only outages and
    only until ``deadline`` (``loop.time()``); then the outage is raised."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            return await op()
        except Exception as exc:
            if not is_outage(exc) or loop.time() + every_s >= deadline:
                raise
        await asyncio.sleep(every_s)
