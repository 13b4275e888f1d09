"""A PostgreSQL server of the test's own (initdb into a temporary folder, pg_ctl on a free port),
so a test can stop it (an outage) and start it again.

initdb refuses to run as root: when the tests run as root (CI containers), the server runs as
the ``postgres`` system user, in a folder owned by it. Binaries: ``FAKEWATCH_PG_BIN`` or the
newest ``/usr/lib/postgresql/*/bin``.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from _serve_process import free_port


def pg_bin_dir() -> Path | None:
    explicit = os.environ.get("FAKEWATCH_PG_BIN")
    if explicit:
        return Path(explicit)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    found = [p for p in found if (p / "initdb").exists()]
    if found:
        return found[-1]
    which = shutil.which("initdb")
    return Path(which).parent if which else None


class PgInstance:
    """``init()`` once, then ``start()`` / ``stop()`` as often as the test likes; ``destroy()``."""

    def __init__(self, port: int | None = None) -> None:
        bin_dir = pg_bin_dir()
        if bin_dir is None:
            raise FileNotFoundError("initdb/pg_ctl not found (set FAKEWATCH_PG_BIN)")
        self.bin = bin_dir
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="fakewatch-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, user=self.user, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip

    def init(self) -> PgInstance:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: clients are disconnected (an outage); ``immediate``: a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str) -> str:
        import asyncpg

        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)


def create_database_sync(pg: PgInstance, name: str) -> str:
    return asyncio.run(pg.create_database(name))
