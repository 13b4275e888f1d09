"""The fault-injection soak: the REAL bot processes, the REAL serving app and a PostgreSQL of its own,
through the fake Telegram server, while the harness kills and stops things.

What runs: PostgreSQL (initdb into a temporary folder, so it can be stopped), ``fakewatch serve``
(Ray Serve, tiny untrained checkpoints), one polling bot and one ``--worker-only`` bot
(``python -m fakewatch.cli bot``), and :class:`FakeTelegram` in this process with a seeded
:class:`FaultPlan` (429s with ``retry_after``, dropped connections).

What happens: ``updates`` media updates from ``users`` users in private chats and 3 groups
(single photos, files, a video, a text file named .mp4, albums, group auto-checks at two
thresholds, ``/check`` replies, caption edits, the same files sent by different users, one user
over the rate limit, updates delivered twice) while the harness SIGKILLs a bot process at
``bot_kills`` random moments (restarting it each time), kills and restarts serving
``serving_restarts`` times, and stops PostgreSQL for ``db_outage_s`` once.

What must hold at the end (:func:`verdict_of`): every update answered exactly once — 0 lost,
0 duplicate answers — where an album counts as one answer (to its first item), an edit and a
duplicate delivery add nothing, a group auto-check speaks only at its threshold, a ``/check``
is answered under the media it names, and an update refused by the rate limit gets no verdict;
every job finished (done or failed), every album replied, no traceback in the bot logs.

API keys (:func:`api_key_checks`, judged by :func:`api_key_problems`): serving runs with
``FAKEWATCH_API_ACCESS=keys`` and a key file of the soak's own (a key for the bots, whose whole
traffic goes keyed, and a "greedy" client's key at ``GREEDY_PER_MINUTE``). Once the traffic has
settled: requests without a valid key (none, malformed, well-formed but unknown) are all 401
``unauthorized``; the greedy key fires ``GREEDY_FLOOD`` checks at once while the bots' key sends
its few checks one after another: the greedy key gets 429s beyond its rate, the bots' key gets
every answer, and its median latency during the flood stays within
``max(2 × baseline, baseline + 1 s)`` of its median before it.

Run it alone (it also writes the figures to ``--out``):

    .venv/bin/python tests/bot/soak.py --updates 300 --users 30 --kills 10 --serving-restarts 2 \\
        --db-outage-s 20 --out benchmarks/results/soak-cpu2.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
for path in (str(REPO_ROOT), str(HERE), str(REPO_ROOT / "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

from _pg_instance import PgInstance  # noqa: E402
from _serve_process import ServeProcess, tiny_checkpoints  # noqa: E402
from fake_telegram import Call, FakeTelegram, FaultPlan, group_chat, private_chat, user  # noqa: E402

#: Interim messages: allowed besides the one answer, never counted as one.
INTERIM_TEXTS = ("Your check is queued", "please wait a minute", "short break from checking")
PSEUDONYM_SECRET = "soak-pseudonym-secret"
#: The bots' key: generous, the whole soak's traffic goes through it.
BOT_PER_MINUTE = 6000
#: The greedy client: a low rate, then a flood far over it.
GREEDY_PER_MINUTE = 6
GREEDY_FLOOD = 30
#: Checks the bots' key sends (one after another) before the flood, and again during it.
OTHER_CHECKS = 5
#: "Not slowed": the median during the flood is at most max(2 × baseline, baseline + this).
NOT_SLOWED_SLACK_S = 1.0


@dataclass
class SoakConfig:
    updates: int = 60
    users: int = 10
    bot_kills: int = 3
    serving_restarts: int = 1
    db_outage_s: float = 5.0
    seed: int = 7
    distinct_photos: int = 8
    #: Seconds over which the updates are sent (None: about 0.5 s per update).
    traffic_s: float | None = None
    rate_429: float = 0.04
    rate_drop: float = 0.03
    #: The polling bot takes updates by webhook instead of getUpdates.
    webhook: bool = False
    drain_timeout_s: float = 420.0
    shared_data: Path = field(
        default_factory=lambda: Path(os.environ.get("FAKEWATCH_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    )

    @classmethod
    def full(cls) -> SoakConfig:
        """The size the issue asks for: 300 updates, 30 users, 10 kills, 2 serving restarts, 20 s outage."""
        return cls(updates=300, users=30, bot_kills=10, serving_restarts=2, db_outage_s=20.0,
                   distinct_photos=30, drain_timeout_s=900.0)  # fmt: skip

    @classmethod
    def from_env(cls) -> SoakConfig:
        base = cls.full() if os.environ.get("FAKEWATCH_SOAK_FULL") == "1" else cls()
        env = {
            "updates": ("FAKEWATCH_SOAK_UPDATES", int),
            "users": ("FAKEWATCH_SOAK_USERS", int),
            "bot_kills": ("FAKEWATCH_SOAK_KILLS", int),
            "serving_restarts": ("FAKEWATCH_SOAK_SERVING_RESTARTS", int),
            "db_outage_s": ("FAKEWATCH_SOAK_DB_OUTAGE_S", float),
            "seed": ("FAKEWATCH_SOAK_SEED", int),
        }
        if os.environ.get("FAKEWATCH_SOAK_WEBHOOK") == "1":
            base.webhook = True
        for name, (var, cast) in env.items():
            if os.environ.get(var):
                setattr(base, name, cast(os.environ[var]))
        return base

    @property
    def traffic_seconds(self) -> float:
        return self.traffic_s if self.traffic_s is not None else max(20.0, 0.5 * self.updates)


# --- what was sent and what is expected --------------------------------------------------------
@dataclass
class Target:
    """A message the bot may answer (a reply to it): how many final answers it should get."""

    chat_id: int
    message_id: int
    kind: str
    pushed_at: float
    expect: int | None  # None: decided at the end from the database (group auto-check, rate limit)
    update_id: int | None = None
    threshold: str | None = None


@dataclass
class Plan:
    targets: dict[tuple[int, int], Target] = field(default_factory=dict)
    updates: int = 0
    redeliveries: int = 0
    edits: int = 0
    albums: int = 0
    album_items: int = 0
    group_auto: int = 0
    group_check: int = 0
    spam: int = 0

    def add(self, target: Target) -> None:
        self.targets[(target.chat_id, target.message_id)] = target


class BotProcess:
    """One ``fakewatch bot`` process that the harness can SIGKILL and start again."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n===== {self.name} start {self.starts} =====\n".encode())
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "fakewatch.cli", "bot", "--no-migrate", *self.args,
                cwd=REPO_ROOT, env=self.env, stdout=out, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        """SIGTERM: the bot stops its intake and worker cleanly."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                await self.kill()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


@dataclass(frozen=True)
class SoakKeys:
    """The soak's API keys: the secrets stay in this process, the file holds only their hashes."""

    file: Path
    bot: str
    greedy: str
    greedy_per_minute: int


def make_keys(workdir: Path, *, greedy_per_minute: int = GREEDY_PER_MINUTE) -> SoakKeys:
    """Two fresh keys (the bots', the greedy client's) in a key file as ``fakewatch ops`` writes it."""
    from serving.api_keys import DEFAULT_BYTES_PER_HOUR, KeyRecord, key_hash, new_key, write_key_file

    bot, bot_id = new_key()
    greedy, greedy_id = new_key()
    path = workdir / "api_keys.json"
    write_key_file(path, [
        KeyRecord(bot_id, "soak-bot", key_hash(bot), BOT_PER_MINUTE, DEFAULT_BYTES_PER_HOUR),
        KeyRecord(greedy_id, "soak-greedy", key_hash(greedy), greedy_per_minute, DEFAULT_BYTES_PER_HOUR),
    ])  # fmt: skip
    return SoakKeys(path, bot, greedy, greedy_per_minute)


# --- the world ---------------------------------------------------------------------------------
class Soak:
    def __init__(self, config: SoakConfig, workdir: Path) -> None:
        self.cfg = config
        self.dir = workdir
        self.rng = random.Random(config.seed)
        self.plan = Plan()
        self.events: list[dict[str, Any]] = []
        self.t0 = 0.0
        self.pg: PgInstance | None = None
        self.serve: ServeProcess | None = None
        self.telegram: FakeTelegram | None = None
        self.bots: list[BotProcess] = []
        self.db_url = ""
        self.keys: SoakKeys | None = None

    def log_event(self, what: str, **extra: Any) -> None:
        self.events.append({"t": round(time.monotonic() - self.t0, 2), "event": what, **extra})
        print(f"[soak {time.monotonic() - self.t0:7.1f}s] {what} {extra or ''}", flush=True)

    # --- setup -----------------------------------------------------------------------------------
    async def setup(self) -> None:
        import db

        self.pg = PgInstance()
        await asyncio.to_thread(self.pg.init)
        await asyncio.to_thread(self.pg.start)
        self.db_url = await self.pg.create_database("fakewatch_soak")
        await db.upgrade(self.db_url)
        engine = db.create_engine(self.db_url)
        try:
            async with db.session_factory(engine)() as s:
                await db.jobs.set_chat_settings(s, GROUP_AUTO_UNCERTAIN, autocheck=True, threshold="uncertain")
                await db.jobs.set_chat_settings(s, GROUP_AUTO_FAKE, autocheck=True, threshold="fake")
                await db.jobs.set_chat_settings(s, GROUP_CHECK, autocheck=False)
        finally:
            await engine.dispose()

        image, video = await asyncio.to_thread(tiny_checkpoints, self.dir / "ckpt")
        # keyed from the start; a restarted serving keeps the same env (ServeProcess.env)
        self.keys = make_keys(self.dir)
        self.serve = ServeProcess(
            self.dir, image, video,
            extra_env={"FAKEWATCH_API_ACCESS": "keys", "FAKEWATCH_API_KEYS_FILE": str(self.keys.file)},
        )  # fmt: skip
        await asyncio.to_thread(self.serve.start)

        self.telegram = await FakeTelegram().start()
        self.telegram.faults = FaultPlan(
            seed=self.cfg.seed,
            rate_429={m: self.cfg.rate_429 for m in ("sendMessage", "sendPhoto", "getFile", "sendChatAction")},
            rate_drop={m: self.cfg.rate_drop for m in ("sendMessage", "sendPhoto", "getFile", "getUpdates")},
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKEWATCH_", "RAY_ADDRESS"))}
        env.update(
            FAKEWATCH_ENVIRONMENT="test",
            FAKEWATCH_TELEGRAM_TOKEN=self.telegram.token,
            FAKEWATCH_TELEGRAM_BASE_URL=self.telegram.base_url,
            FAKEWATCH_TELEGRAM_BASE_FILE_URL=self.telegram.base_file_url,
            FAKEWATCH_DATABASE_URL=self.db_url,
            FAKEWATCH_SERVING_URL=self.serve.url,
            FAKEWATCH_SERVING_API_KEY=self.keys.bot,
            FAKEWATCH_PSEUDONYM_SECRET=PSEUDONYM_SECRET,
            FAKEWATCH_REQUEST_TIMEOUT_S="60",
        )
        if self.cfg.webhook:
            from _serve_process import free_port

            port = free_port()
            env.update(
                FAKEWATCH_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
                FAKEWATCH_TELEGRAM_WEBHOOK_SECRET="soak-webhook-secret-0123456789",
                FAKEWATCH_TELEGRAM_WEBHOOK_PORT=str(port),
            )
        common = ["--log-level", "INFO", "--lease-s", "30", "--poll-interval-s", "0.3", "--poll-timeout-s", "2",
                  "--retry-base-s", "1", "--retry-max-s", "5", "--album-debounce-s", "1.5",
                  "--serving-breaker-reset-s", "3", "--send-timeout-s", "6", "--stop-grace-s", "2",
                  "--user-burst", "12", "--user-per-minute", "12"]  # fmt: skip
        self.bots = [
            BotProcess("webhook" if self.cfg.webhook else "poller", [*common, "--worker-concurrency", "2"], env,
                       self.dir / "bot-intake.log"),
            BotProcess("worker", [*common, "--worker-concurrency", "2", "--worker-only"], env,
                       self.dir / "bot-worker.log"),
        ]  # fmt: skip
        for bot in self.bots:
            await bot.start()

    async def teardown(self) -> None:
        for bot in self.bots:
            await bot.stop()
        if self.serve is not None:
            await asyncio.to_thread(self.serve.stop)
        if self.telegram is not None:
            await self.telegram.close()
        if self.pg is not None:
            await asyncio.to_thread(self.pg.destroy)

    # --- media -------------------------------------------------------------------------------------
    def media_pool(self) -> dict[str, Any]:
        data = self.cfg.shared_data
        faces = sorted((data / "faces" / "stylegan" / "fake").glob("*.jpg"))[:40]
        faces += sorted((data / "faces" / "stylegan" / "real").glob("*.jpg"))[:40]
        faces += sorted((data / "faces" / "lfw-faceswap" / "fake").glob("*.jpg"))[:40]
        if len(faces) < self.cfg.distinct_photos:
            raise FileNotFoundError(f"not enough face images under {data}")
        picked = self.rng.sample(faces, self.cfg.distinct_photos)
        assert self.telegram is not None
        photos = [self.telegram.add_file(p.read_bytes()) for p in picked]
        video = self.telegram.add_file((data / "videos" / "fake" / "ffpp_cyshih704_fake.mp4").read_bytes())
        text = self.telegram.add_file(b"notes, not a video\n" * 30)
        return {"photos": photos, "video": video, "text": text}

    # --- traffic -----------------------------------------------------------------------------------
    async def traffic(self) -> None:
        assert self.telegram is not None
        tg = self.telegram
        cfg = self.cfg
        pool = self.media_pool()
        users = [user(10_000 + i, f"User{i}") for i in range(cfg.users)]
        chats = {u["id"]: private_chat(u["id"], u["first_name"]) for u in users}
        spammer = user(20_000, "Spammer")
        groups = {gid: group_chat(gid, f"Group {gid}") for gid in (GROUP_AUTO_UNCERTAIN, GROUP_AUTO_FAKE, GROUP_CHECK)}
        thresholds = {GROUP_AUTO_UNCERTAIN: "uncertain", GROUP_AUTO_FAKE: "fake"}
        rng = self.rng
        plan = self.plan
        singles: list[dict[str, Any]] = []  # private messages an edit may target
        spam_left = min(16, cfg.updates // 4)  # the user burst is 12: a few are refused
        turn = 0
        step = cfg.traffic_seconds / max(1, cfg.updates)

        def photo_fields() -> dict[str, Any]:
            return {"photo": tg.photo_sizes(rng.choice(pool["photos"]))}

        def now() -> float:
            return time.monotonic()

        while plan.updates < cfg.updates:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * step)
            left = cfg.updates - plan.updates
            who = users[turn % len(users)]
            turn += 1
            chat = chats[who["id"]]
            roll = rng.random()
            if spam_left and left > spam_left and plan.updates >= cfg.updates // 3:
                for _ in range(spam_left):  # one user far over the limit, all at once
                    uid, msg = tg.push_message(private_chat(spammer["id"], "Spammer"), spammer, **photo_fields())
                    plan.add(Target(spammer["id"], msg["message_id"], "spam", now(), None, uid))
                plan.updates += spam_left
                plan.spam += spam_left
                spam_left = 0
            elif roll < 0.12 and left >= 2:  # an album of 2-4 items
                size = min(left, rng.randint(2, 4))
                group_id = f"album-{plan.albums}-{rng.randrange(10**9)}"
                first = None
                for _ in range(size):
                    uid, msg = tg.push_message(chat, who, media_group_id=group_id, **photo_fields())
                    first = first or msg
                    plan.add(Target(chat["id"], msg["message_id"], "album-item", now(), 0, uid))
                assert first is not None
                plan.targets[(chat["id"], first["message_id"])].expect = 1
                plan.targets[(chat["id"], first["message_id"])].kind = "album"
                plan.updates += size
                plan.albums += 1
                plan.album_items += size
            elif roll < 0.27:  # a group auto-check (two thresholds)
                gid = rng.choice([GROUP_AUTO_UNCERTAIN, GROUP_AUTO_FAKE])
                uid, msg = tg.push_message(groups[gid], who, **photo_fields())
                plan.add(Target(gid, msg["message_id"], "group-auto", now(), None, uid, thresholds[gid]))
                plan.updates += 1
                plan.group_auto += 1
            elif roll < 0.34 and left >= 2:  # /check as a reply in a group without auto-check
                uid, media = tg.push_message(groups[GROUP_CHECK], who, **photo_fields())
                plan.add(Target(GROUP_CHECK, media["message_id"], "group-check", now(), 1, uid))
                cuid, command = tg.push_message(groups[GROUP_CHECK], who, text="/check", reply_to_message=media,
                                                entities=[{"type": "bot_command", "offset": 0, "length": 6}])  # fmt: skip
                plan.add(Target(GROUP_CHECK, command["message_id"], "group-check-command", now(), 0, cuid))
                plan.updates += 2
                plan.group_check += 1
            elif roll < 0.41 and singles:  # a caption edit of an earlier message: no new work
                original = rng.choice(singles)
                tg.push_edit(original, caption=f"edited {rng.randrange(1000)}")
                plan.updates += 1
                plan.edits += 1
            else:  # a single private media: mostly photos, some files, a video, a fake .mp4
                kind = rng.choices(["photo", "document", "video", "text"], [0.72, 0.14, 0.06, 0.08])[0]
                if kind == "photo":
                    fields = photo_fields()
                elif kind == "document":
                    fields = {
                        "document": {**rng.choice(pool["photos"]), "file_name": "img.jpg", "mime_type": "image/jpeg"}
                    }
                elif kind == "video":
                    fields = {"video": {**pool["video"], "width": 640, "height": 480, "duration": 12}}
                else:
                    fields = {"document": {**pool["text"], "file_name": "clip.mp4", "mime_type": "video/mp4"}}
                uid, msg = tg.push_message(chat, who, **fields)
                plan.add(Target(chat["id"], msg["message_id"], f"private-{kind}", now(), 1, uid))
                singles.append(msg)
                plan.updates += 1
            if rng.random() < 0.06 and tg._delivered:  # Telegram delivers an update again
                tg.redeliver(rng.choice(tg._delivered)["update_id"])
                plan.redeliveries += 1
        self.log_event("traffic sent", updates=plan.updates)

    # --- chaos -------------------------------------------------------------------------------------
    async def chaos(self) -> None:
        cfg = self.cfg
        span = cfg.traffic_seconds
        rng = random.Random(cfg.seed + 1)
        schedule: list[tuple[float, str]] = [(rng.uniform(0.05, 1.1) * span, "kill-bot") for _ in range(cfg.bot_kills)]
        for i in range(cfg.serving_restarts):
            schedule.append(((0.2 + 0.45 * i) * span, "restart-serving"))
        if cfg.db_outage_s > 0:
            schedule.append((0.5 * span, "db-outage"))
        schedule.sort()
        running: list[asyncio.Task[None]] = []
        for at, action in schedule:
            await asyncio.sleep(max(0.0, self.t0 + at - time.monotonic()))
            if action == "kill-bot":
                await self._kill_a_bot(rng)
            elif action == "restart-serving":
                running.append(asyncio.create_task(self._restart_serving()))
            else:
                running.append(asyncio.create_task(self._db_outage()))
        await asyncio.gather(*running)

    async def _kill_a_bot(self, rng: random.Random) -> None:
        bot = rng.choice(self.bots)
        await bot.kill()
        self.log_event("SIGKILL bot", which=bot.name)
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        await bot.start()

    async def _restart_serving(self) -> None:
        assert self.serve is not None
        await asyncio.to_thread(self.serve.kill)
        self.log_event("SIGKILL serving")
        await asyncio.to_thread(self.serve.launch)
        await asyncio.to_thread(self.serve.wait_healthy)
        self.log_event("serving healthy again")

    async def _db_outage(self) -> None:
        assert self.pg is not None
        await asyncio.to_thread(self.pg.stop, "fast")
        self.log_event("PostgreSQL stopped", seconds=self.cfg.db_outage_s)
        await asyncio.sleep(self.cfg.db_outage_s)
        await asyncio.to_thread(self.pg.start)
        self.log_event("PostgreSQL started")

    # --- the end -------------------------------------------------------------------------------------
    async def settle(self) -> dict[str, Any]:
        """Wait until every expected answer is in and every job finished (or the drain times out)."""
        deadline = time.monotonic() + self.cfg.drain_timeout_s
        figures: dict[str, Any] = {}
        while True:
            for bot in self.bots:  # a bot that died on its own is a failure the logs will show
                if not bot.alive:
                    self.log_event("bot exited by itself; restarting", which=bot.name)
                    await bot.start()
            figures = await self.figures()
            if figures["lost"] == 0 and figures["non_terminal_jobs"] == 0 and figures["albums_unreplied"] == 0:
                await asyncio.sleep(5.0)  # a late duplicate would show up now
                return await self.figures()
            if time.monotonic() > deadline:
                return figures
            await asyncio.sleep(2.0)

    async def figures(self) -> dict[str, Any]:
        from sqlalchemy import select

        import db

        assert self.telegram is not None
        engine = db.create_engine(self.db_url)
        try:
            async with db.session_factory(engine)() as s:
                rows = list((await s.execute(select(db.Check))).scalars())
                albums = list((await s.execute(select(db.Album))).scalars())
        finally:
            await engine.dispose()
        return verdict_of(self.plan, self.telegram.calls, rows, albums)


GROUP_AUTO_UNCERTAIN, GROUP_AUTO_FAKE, GROUP_CHECK = -1001000000101, -1001000000102, -1001000000103


def _is_final_answer(call: Call) -> bool:
    if call.method not in ("sendMessage", "sendPhoto"):
        return False
    if not isinstance(call.result, dict) or "message_id" not in call.result:
        return False  # a 429 or a dropped connection: nothing was delivered
    text = str(call.params.get("text") or call.params.get("caption") or "")
    return not any(word in text for word in INTERIM_TEXTS)


def verdict_of(plan: Plan, calls: list[Call], rows: list[Any], albums: list[Any]) -> dict[str, Any]:
    """Count answers per target against what each should get; lost, duplicates, latency."""
    from bot.wording import speaks_in_group

    by_update = {r.update_id: r for r in rows if r.update_id is not None}
    answers: dict[tuple[int, int], list[Call]] = {}
    interim = 0
    for call in calls:
        if call.method not in ("sendMessage", "sendPhoto"):
            continue
        reply = call.params.get("reply_parameters") or {}
        key = (call.params.get("chat_id"), reply.get("message_id"))
        if _is_final_answer(call):
            answers.setdefault(key, []).append(call)  # type: ignore[arg-type]
        elif isinstance(call.result, dict) and "message_id" in call.result:
            interim += 1
    lost, duplicates, latencies = [], [], []
    refused = undecided = 0
    for key, target in plan.targets.items():
        expect = target.expect
        if expect is None:
            row = by_update.get(target.update_id)
            if target.kind == "spam":
                expect = 1 if row is not None else 0
                refused += row is None
            elif row is None or row.status not in (db_status_done(), db_status_failed()):
                undecided += 1
                expect = 1  # not finished yet: the answer is still owed (or lost)
            else:
                expect = 1 if row.verdict and speaks_in_group(str(row.verdict), str(target.threshold)) else 0
        got = answers.get(key, [])
        if len(got) < expect:
            lost.append({"chat": key[0], "message": key[1], "kind": target.kind})
        if len(got) > expect:
            duplicates.append({"chat": key[0], "message": key[1], "kind": target.kind, "answers": len(got)})
        if got and expect:
            latencies.append(got[0].at - target.pushed_at)
    strays = [k for k in answers if k not in plan.targets]
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    latencies.sort()
    return {
        "targets": len(plan.targets),
        "answered": sum(1 for k, t in plan.targets.items() if answers.get(k)),
        "lost": len(lost),
        "duplicates": len(duplicates) + len(strays),
        "lost_detail": lost[:20],
        "duplicate_detail": duplicates[:20] + [{"stray": list(k)} for k in strays[:5]],
        "refused_by_rate_limit": refused,
        "undecided": undecided,
        "interim_notices": interim,
        "jobs": statuses,
        "non_terminal_jobs": sum(n for s, n in statuses.items() if s in ("queued", "running")),
        "albums_unreplied": sum(1 for a in albums if a.replied_at is None),
        # a holder died (or lost the connection) between claiming an answer and stamping it, and
        # the next holder sent it again: a duplicate only if the first send had reached Telegram
        "answer_resends": sum(max(0, int(r.answer_claims or 0) - 1) for r in rows)
        + sum(max(0, int(a.reply_claims or 0) - 1) for a in albums),
        "p50_answer_s": round(statistics.median(latencies), 2) if latencies else None,
        "p95_answer_s": round(latencies[int(0.95 * (len(latencies) - 1))], 2) if latencies else None,
        "max_answer_s": round(latencies[-1], 2) if latencies else None,
    }


def db_status_done() -> Any:
    import db

    return db.CheckStatus.DONE


def db_status_failed() -> Any:
    import db

    return db.CheckStatus.FAILED


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


async def api_key_checks(
    serve_url: str, keys: SoakKeys, photo: bytes, *, other_checks: int = OTHER_CHECKS, flood: int = GREEDY_FLOOD
) -> dict[str, Any]:
    """Requests without a valid key refused; one client over its rate refused, the others not slowed.

    The bots' key (``other``) sends ``other_checks`` checks one after another alone (the
    baseline), then again while the greedy key fires ``flood`` checks at once. ``other_ok`` and
    ``other_sent`` count both rounds.
    """
    import aiohttp

    from serving.api_keys import new_key

    url = serve_url + "/v1/check"

    def bearer(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    async def post(session: aiohttp.ClientSession, headers: dict[str, str]) -> tuple[int, str | None, float]:
        started = time.monotonic()
        async with session.post(url, data=photo, headers=headers) as resp:
            body = await resp.json(content_type=None)
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return resp.status, code, time.monotonic() - started

    unknown, _ = new_key()  # well-formed, never written to the key file
    no_valid_key = [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, bearer("not-a-key"), bearer(unknown),
                    {"X-API-Key": unknown}]  # fmt: skip
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=180)) as s:
        refusals = [await post(s, headers) for headers in no_valid_key]
        baseline = [await post(s, bearer(keys.bot)) for _ in range(other_checks)]

        async def other_during_flood() -> list[tuple[int, str | None, float]]:
            await asyncio.sleep(0)  # the flood's requests go out first
            return [await post(s, bearer(keys.bot)) for _ in range(other_checks)]

        greedy, during = await asyncio.gather(
            asyncio.gather(*(post(s, bearer(keys.greedy)) for _ in range(flood))), other_during_flood()
        )
    others = baseline + during
    return {
        "unauthorized_sent": len(refusals),
        "unauthorized_refused": sum(1 for status, code, _ in refusals if status == 401 and code == "unauthorized"),
        "unauthorized_statuses": [status for status, _, _ in refusals],
        "greedy_per_minute": keys.greedy_per_minute,
        "greedy_sent": len(greedy),
        "greedy_ok": sum(1 for status, _, _ in greedy if status == 200),
        "greedy_429": sum(1 for status, code, _ in greedy if status == 429 and code == "rate_limited"),
        "greedy_429_median_s": _median([took for status, _, took in greedy if status == 429]),
        "other_sent": len(others),
        "other_ok": sum(1 for status, _, _ in others if status == 200),
        "other_median_s_baseline": _median([took for _, _, took in baseline]),
        "other_median_s_during_flood": _median([took for _, _, took in during]),
        "other_s_baseline": [round(took, 3) for _, _, took in baseline],
        "other_s_during_flood": [round(took, 3) for _, _, took in during],
    }


def api_key_problems(api: dict[str, Any]) -> list[str]:
    """What the API-key figures break (empty: all held); the soak fails on any."""
    if "error" in api or "unauthorized_sent" not in api:
        return [f"the API-key checks did not run: {api}"]
    problems = []
    if api["unauthorized_sent"] < 1 or api["unauthorized_refused"] != api["unauthorized_sent"]:
        problems.append(f"requests without a valid key: {api['unauthorized_refused']} of "
                        f"{api['unauthorized_sent']} refused (401 unauthorized)")  # fmt: skip
    if api["greedy_429"] <= 0:
        problems.append(f"the greedy key was never refused (429) in {api['greedy_sent']} requests")
    if api["other_sent"] < 1 or api["other_ok"] != api["other_sent"]:
        problems.append(f"the other key: {api['other_ok']} of {api['other_sent']} answered 200")
    base, during = api["other_median_s_baseline"], api["other_median_s_during_flood"]
    if base is None or during is None or during > max(2 * base, base + NOT_SLOWED_SLACK_S):
        problems.append(f"the other key was slowed by the flood: median {during} s against {base} s before")
    return problems


async def run_soak(config: SoakConfig, workdir: Path | None = None) -> dict[str, Any]:
    """Run the whole soak; returns the figures (see :func:`verdict_of`) plus what was done."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="fakewatch-soak-"))
    soak = Soak(config, workdir)
    started = time.monotonic()
    try:
        await soak.setup()
        soak.t0 = time.monotonic()
        soak.log_event("setup done", seconds=round(soak.t0 - started, 1))
        await asyncio.gather(soak.traffic(), soak.chaos())
        figures = await soak.settle()
        soak.log_event("settled", lost=figures["lost"], duplicates=figures["duplicates"])
        assert soak.serve is not None and soak.keys is not None
        photo = sorted((config.shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[0].read_bytes()
        try:
            api = await api_key_checks(soak.serve.url, soak.keys, photo)
        except Exception as exc:  # the figures still come back; api_key_problems fails them
            api = {"error": repr(exc)}
        soak.log_event("API keys checked", **api)
    finally:
        await soak.teardown()
    logs = "\n".join(b.log.read_text(errors="replace") for b in soak.bots if b.log.exists())
    serve_log = soak.serve.log_path.read_text(errors="replace") if soak.serve and soak.serve.log_path.exists() else ""
    plan = soak.plan
    assert soak.telegram is not None
    return {
        "updates": plan.updates,
        "users": config.users,
        "groups": 3,
        "albums": plan.albums,
        "album_items": plan.album_items,
        "edits": plan.edits,
        "group_auto_checks": plan.group_auto,
        "group_check_commands": plan.group_check,
        "spam_updates": plan.spam,
        "redelivered_updates": plan.redeliveries,
        "bot_kills": config.bot_kills,
        "bot_starts": {b.name: b.starts for b in soak.bots},
        "serving_restarts": config.serving_restarts,
        "db_outage_s": config.db_outage_s,
        "intake": "webhook" if config.webhook else "long polling",
        "telegram_faults_injected": dict(sorted(soak.telegram.faults.injected.items())) if soak.telegram.faults else {},
        **figures,
        "tracebacks_in_bot_logs": logs.count("Traceback"),
        "tracebacks_in_serve_log": serve_log.count("Traceback"),
        "error_lines_in_bot_logs": sum(1 for line in logs.splitlines() if " ERROR " in line),
        "api_keys": api,
        "seed": config.seed,
        "wall_s": round(time.monotonic() - started, 1),
        "events": soak.events,
        "logs_dir": str(workdir),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = SoakConfig.full()
    parser.add_argument("--updates", type=int, default=defaults.updates)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--kills", type=int, default=defaults.bot_kills)
    parser.add_argument("--serving-restarts", type=int, default=defaults.serving_restarts)
    parser.add_argument("--db-outage-s", type=float, default=defaults.db_outage_s)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--webhook", action="store_true", help="the bot takes updates by webhook")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    config = SoakConfig.full()
    config.updates, config.users, config.bot_kills = args.updates, args.users, args.kills
    config.serving_restarts, config.db_outage_s, config.seed = args.serving_restarts, args.db_outage_s, args.seed
    config.webhook = args.webhook
    figures = asyncio.run(run_soak(config))
    text = json.dumps({k: v for k, v in figures.items() if k != "events"}, indent=1)
    print(text)
    if args.out is not None:
        kept = {k: v for k, v in figures.items() if k != "logs_dir"}
        kept["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        kept["machine"] = f"{os.cpu_count()} CPU cores, no GPU; load average {os.getloadavg()[0]:.1f} at the end"
        kept["config"] = asdict(config) | {"shared_data": "../shared/data"}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(kept, indent=1, default=str) + "\n")
    ok = figures["lost"] == 0 and figures["duplicates"] == 0 and figures["non_terminal_jobs"] == 0
    api_problems = api_key_problems(figures["api_keys"])
    for problem in api_problems:
        print(f"API keys: {problem}", file=sys.stderr)
    ok = ok and not api_problems
    return 0 if ok and figures["tracebacks_in_bot_logs"] == figures["tracebacks_in_serve_log"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
