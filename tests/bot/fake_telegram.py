"""An offline fake of the Telegram Bot API server, spoken to over real HTTP.

Why a server and not a patched ``Bot``: PTB keeps its own code path untouched (HTTPXRequest,
form encoding, long polling, ``RetryAfter`` parsing, file downloads via ``base_file_url``), so
the tests exercise exactly what production runs. Point PTB at it with
``base_url=fake.base_url`` and ``base_file_url=fake.base_file_url``.

What it does:
* ``getUpdates`` long-polls (``offset`` confirms, ``timeout`` waits) on a queue the test fills
  with :meth:`FakeTelegram.push_message` and friends; :meth:`redeliver` re-serves an update
  with the same ``update_id``.
* ``getFile`` + ``GET /file/bot<token>/<path>`` serve bytes registered with :meth:`add_file`.
* every call the bot makes is recorded in :attr:`calls`; :meth:`wait_for` awaits one.
* :meth:`fail_next` makes the next N calls of a method answer an error (429 + retry_after).
* :class:`FaultPlan` (``fake.faults``) injects, on a seeded schedule, 429s with ``retry_after``
  and dropped connections (closed before the request is processed, so nothing happened).
* :meth:`push_edit` queues an ``edited_message`` (a caption edit, for instance).
* ``setWebhook`` switches to webhook delivery: queued updates are POSTed one at a time to the
  URL with the secret header, retried until answered 2xx (``webhook_deliveries`` records each
  try); ``getWebhookInfo`` reports the pending count; ``getUpdates`` then answers 409.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

#: Parameters PTB sends as plain strings; everything else is JSON-encoded by PTB.
STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "callback_query_id",
        "file_id",
        "parse_mode",
        "action",
        "secret_token",
        "url",
        "photo",
        "document",
        "video",
    }
)

BOT_USER = {
    "id": 7000001,
    "is_bot": True,
    "first_name": "fakewatch",
    "username": "fakewatch_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    result: Any = None


@dataclass
class FaultPlan:
    """Seeded, per-call fault injection: each call of a listed method gets a 429 with probability
    ``rate_429[method]`` or has its connection dropped (before processing) with ``rate_drop[method]``.
    ``injected`` counts what was done, per ``"429:<method>"`` / ``"drop:<method>"``."""

    seed: int = 0
    rate_429: dict[str, float] = field(default_factory=dict)
    rate_drop: dict[str, float] = field(default_factory=dict)
    retry_after: tuple[int, int] = (1, 2)
    enabled: bool = True
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def decide(self, method: str) -> tuple[str, int] | None:
        if not self.enabled:
            return None
        roll = self._rng.random()
        p429 = self.rate_429.get(method, 0.0)
        if roll < p429:
            self.injected[f"429:{method}"] = self.injected.get(f"429:{method}", 0) + 1
            return "429", self._rng.randint(*self.retry_after)
        if roll < p429 + self.rate_drop.get(method, 0.0):
            self.injected[f"drop:{method}"] = self.injected.get(f"drop:{method}", 0) + 1
            return "drop", 0
        return None


@dataclass
class _Failure:
    status: int
    description: str
    parameters: dict[str, Any] | None
    remaining: int


def user(user_id: int, name: str = "Alice") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name}


def private_chat(user_id: int, name: str = "Alice") -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": name}


def group_chat(chat_id: int, title: str = "Test group", type_: str = "supergroup") -> dict[str, Any]:
    return {"id": chat_id, "type": type_, "title": title}


class FakeTelegram:
    """The fake Bot API: start with ``await fake.start()``, stop with ``await fake.close()``."""

    def __init__(self, token: str = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz012") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.files: dict[str, tuple[bytes, str, str]] = {}  # file_id -> (data, unique_id, path)
        self.members: dict[tuple[int, int], str] = {}  # (chat_id, user_id) -> status
        self.file_downloads: list[str] = []
        self._updates: list[dict[str, Any]] = []  # unconfirmed: re-served until offset passes
        self._forced: list[dict[str, Any]] = []  # re-deliveries, served once whatever the offset
        self._delivered: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._sent_ids = itertools.count(900_000)
        self._new_update = asyncio.Condition()
        self._new_call = asyncio.Condition()
        self._failures: dict[str, list[_Failure]] = {}
        self.faults: FaultPlan | None = None
        self._holds: dict[str, bool] = {}  # method -> delivered before the hang?
        self._release = asyncio.Event()
        self.holding = asyncio.Event()  # set while a held call hangs
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[tuple[int, int | None]] = []  # (update_id, HTTP status)
        self.webhook_retry_s = 0.3
        self._webhook_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        await self._stop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- what the test controls -----------------------------------------------------------------
    def add_file(self, data: bytes, *, unique_id: str | None = None, path: str | None = None) -> dict:
        """Register downloadable bytes; returns the ``file_id``/``file_unique_id``/``file_size``."""
        digest = hashlib.sha256(data).hexdigest()
        unique = unique_id or f"U{digest[:14]}"
        file_id = f"F{digest[:10]}{len(self.files):04d}"
        self.files[file_id] = (data, unique, path or f"documents/file_{len(self.files)}")
        return {"file_id": file_id, "file_unique_id": unique, "file_size": len(data)}

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember answers (``administrator``, ``creator``, ``member``…)."""
        self.members[(chat_id, user_id)] = status

    def fail_next(
        self,
        method: str,
        *,
        count: int = 1,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` get an error (default: 429 Too Many Requests)."""
        parameters: dict[str, Any] = {}
        if retry_after is not None and status == 429:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        if description is None:
            description = f"Too Many Requests: retry after {retry_after}" if status == 429 else "Bad Request"
        self._failures.setdefault(method, []).append(_Failure(status, description, parameters or None, count))

    def hold_next(self, method: str, *, delivered: bool) -> None:
        """The next call of ``method`` hangs until :meth:`release_holds` — before doing anything
        (``delivered=False``: it then fails, nothing was sent) or after doing it (``delivered=True``:
        the message exists, only the answer to the bot is lost), as a connection that dies."""
        self._holds[method] = delivered
        self._release.clear()
        self.holding.clear()

    def release_holds(self) -> None:
        self._release.set()

    def push_update(self, body: dict[str, Any]) -> int:
        """Queue an update (``update_id`` assigned unless given); returns its id."""
        update = dict(body)
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        asyncio.get_running_loop().create_task(self._notify_updates())
        return update["update_id"]

    def redeliver(self, update_id: int) -> int:
        """Serve an update again with the same ``update_id`` (what Telegram does after errors)."""
        for update in self._delivered:
            if update["update_id"] == update_id:
                self._forced.append(update)
                asyncio.get_running_loop().create_task(self._notify_updates())
                return update_id
        raise KeyError(update_id)

    def message(
        self,
        chat: dict[str, Any],
        from_user: dict[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A ``Message`` object (not queued); ``fields`` are any Bot API message fields."""
        msg = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
        }
        if from_user is not None:
            msg["from"] = from_user
        msg.update(fields)
        return msg

    def push_message(
        self, chat: dict[str, Any], from_user: dict[str, Any] | None = None, **fields: Any
    ) -> tuple[int, dict[str, Any]]:
        """Queue a message update; returns ``(update_id, message)``."""
        msg = self.message(chat, from_user, **fields)
        return self.push_update({"message": msg}), msg

    def push_edit(self, message: dict[str, Any], **changes: Any) -> int:
        """Queue an ``edited_message`` update: the same message (same id) with ``changes``."""
        edited = {**message, **changes, "edit_date": int(time.time())}
        return self.push_update({"edited_message": edited})

    def push_callback(self, from_user: dict[str, Any], message: dict[str, Any], data: str) -> int:
        return self.push_update(
            {
                "callback_query": {
                    "id": f"cb{next(self._message_ids)}",
                    "from": from_user,
                    "message": message,
                    "chat_instance": "ci1",
                    "data": data,
                }
            }
        )

    def push_my_chat_member(self, chat: dict[str, Any], by: dict[str, Any], old: str, new: str) -> int:
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": by,
                    "date": int(time.time()),
                    "old_chat_member": {"user": BOT_USER, "status": old},
                    "new_chat_member": _member(BOT_USER, new),
                }
            }
        )

    @staticmethod
    def photo_sizes(file: dict, width: int = 640, height: int = 480) -> list[dict[str, Any]]:
        """A ``photo`` array with a small thumbnail first and the real file as the largest."""
        thumb = {
            "file_id": file["file_id"] + "_s",
            "file_unique_id": file["file_unique_id"] + "_s",
            "width": 90,
            "height": 67,
            "file_size": 1000,
        }
        return [thumb, {**file, "width": width, "height": height}]

    # --- what the test inspects -----------------------------------------------------------------
    def sent(self, *methods: str, chat_id: int | None = None) -> list[Call]:
        """Recorded calls of the given methods (all if none), optionally to one chat."""
        return [
            c
            for c in self.calls
            if (not methods or c.method in methods) and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    async def wait_for(
        self,
        predicate: Callable[[Call], bool] | str,
        *,
        timeout: float = 30.0,
        count: int = 1,
    ) -> list[Call]:
        """Wait until ``count`` recorded calls match (a method name or a predicate)."""
        if isinstance(predicate, str):
            name = predicate
            predicate = lambda c: c.method == name  # noqa: E731
        deadline = time.monotonic() + timeout
        async with self._new_call:
            while True:
                found = [c for c in self.calls if predicate(c)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    methods = [c.method for c in self.calls]
                    raise TimeoutError(f"no matching call after {timeout}s; calls: {methods}")
                try:
                    await asyncio.wait_for(self._new_call.wait(), left)
                except TimeoutError:
                    pass

    # --- HTTP -----------------------------------------------------------------------------------
    async def _notify_updates(self) -> None:
        async with self._new_update:
            self._new_update.notify_all()

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        async with self._new_call:
            self._new_call.notify_all()

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            params.update(await request.json())
            return params, files
        if request.method == "POST" and request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                    continue
                params[key] = value
        for key, value in list(params.items()):
            if key in STRING_FIELDS or not isinstance(value, str):
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                pass
        return params, files

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await self._params(request)
        call = Call(method, params, files)
        fault = self.faults.decide(method) if self.faults is not None else None
        if fault is not None:
            kind, retry_after = fault
            if kind == "drop":  # the connection dies before anything is done
                call.result = {"dropped": True}
                await self._record(call)
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)
            call.result = {"error_code": 429}
            await self._record(call)
            return _error(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        if method in self._holds:
            delivered = self._holds.pop(method)
            if not delivered:
                call.result = {"held": True}
                await self._record(call)
                self.holding.set()
                await self._release.wait()
                return _error(500, "Internal Server Error: the request was dropped")
        else:
            delivered = False
        failures = self._failures.get(method)
        if failures:
            failure = failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                failures.pop(0)
            call.result = {"error_code": failure.status}
            await self._record(call)
            return _error(failure.status, failure.description, failure.parameters)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            await self._record(call)
            return _error(404, "Not Found: method not found")
        try:
            result = await handler(params, files)
        except _ApiError as exc:
            await self._record(call)
            return _error(exc.status, exc.description)
        if method != "getUpdates":  # recorded inside, only when it delivers something
            call.result = result
            await self._record(call)
        if delivered:  # done, but the answer never reaches the bot
            self.holding.set()
            await self._release.wait()
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for data, _, file_path in self.files.values():
            if file_path == path:
                self.file_downloads.append(path)
                return web.Response(body=data, content_type="application/octet-stream")
        return web.Response(status=404)

    # --- Bot API methods ------------------------------------------------------------------------
    async def _m_getMe(self, params: dict, files: dict) -> Any:
        return BOT_USER

    async def _m_deleteWebhook(self, params: dict, files: dict) -> Any:
        await self._stop_webhook()
        return True

    async def _m_setWebhook(self, params: dict, files: dict) -> Any:
        await self._stop_webhook()
        self.webhook = {"url": str(params["url"]), "secret": params.get("secret_token")}
        self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_webhooks())
        return True

    async def _m_getWebhookInfo(self, params: dict, files: dict) -> Any:
        pending = len(self._updates) + len(self._forced) if self.webhook else 0
        return {"url": self.webhook["url"] if self.webhook else "", "has_custom_certificate": False,
                "pending_update_count": pending}  # fmt: skip

    async def _stop_webhook(self) -> None:
        self.webhook = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None

    async def _deliver_webhooks(self) -> None:
        """Telegram's side of a webhook: the oldest pending update, until it is answered 2xx."""
        import aiohttp

        async with aiohttp.ClientSession() as http:
            while self.webhook is not None:
                if not self._forced and not self._updates:
                    async with self._new_update:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._new_update.wait(), 0.5)
                    continue
                queue = self._forced if self._forced else self._updates
                update = queue[0]
                headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook["secret"] or ""}
                try:
                    async with http.post(self.webhook["url"], json=update, headers=headers,
                                         timeout=aiohttp.ClientTimeout(total=30)) as resp:  # fmt: skip
                        status: int | None = resp.status
                except (aiohttp.ClientError, TimeoutError):
                    status = None
                self.webhook_deliveries.append((update["update_id"], status))
                if status is not None and 200 <= status < 300:
                    if queue and queue[0] is update:
                        queue.pop(0)
                    self._delivered.append(update)
                else:
                    await asyncio.sleep(self.webhook_retry_s)

    async def _m_close(self, params: dict, files: dict) -> Any:
        return True

    async def _m_logOut(self, params: dict, files: dict) -> Any:
        return True

    async def _m_getUpdates(self, params: dict, files: dict) -> Any:
        if self.webhook is not None:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        if offset:  # "an update is confirmed as soon as getUpdates is called with a higher offset"
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        async with self._new_update:
            while not self._updates and not self._forced:
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                try:
                    await asyncio.wait_for(self._new_update.wait(), left)
                except TimeoutError:
                    return []
        batch, self._forced = self._forced + self._updates[:limit], []
        self._delivered.extend(batch)
        await self._record(Call("getUpdates", params, result=[u["update_id"] for u in batch]))
        return batch

    async def _m_getFile(self, params: dict, files: dict) -> Any:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        data, unique, path = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_size": len(data),
            "file_path": path,
        }

    def _sent_message(self, params: dict, **fields: Any) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        chat = private_chat(chat_id) if isinstance(chat_id, int) and chat_id > 0 else group_chat(chat_id)
        msg = {
            "message_id": next(self._sent_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
        }
        if params.get("reply_markup"):
            msg["reply_markup"] = params["reply_markup"]
        msg.update(fields)
        return msg

    async def _m_sendMessage(self, params: dict, files: dict) -> Any:
        if not str(params.get("text", "")).strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        return self._sent_message(params, text=params["text"])

    async def _m_sendPhoto(self, params: dict, files: dict) -> Any:
        photo = files.get("photo")
        if photo is None and not params.get("photo"):
            raise _ApiError(400, "Bad Request: there is no photo in the request")
        size = len(photo) if photo is not None else 0
        sizes = [
            {"file_id": "sent_photo", "file_unique_id": "sent_photo_u", "width": 1, "height": 1, "file_size": size}
        ]
        return self._sent_message(params, photo=sizes, caption=params.get("caption"))

    async def _m_sendDocument(self, params: dict, files: dict) -> Any:
        if not files.get("document") and not params.get("document"):
            raise _ApiError(400, "Bad Request: there is no document in the request")
        doc = {"file_id": "sent_doc", "file_unique_id": "sent_doc_u", "file_size": len(files.get("document", b""))}
        return self._sent_message(params, document=doc)

    async def _m_sendChatAction(self, params: dict, files: dict) -> Any:
        return True

    async def _m_editMessageText(self, params: dict, files: dict) -> Any:
        return self._sent_message(params, text=params.get("text"))

    async def _m_editMessageReplyMarkup(self, params: dict, files: dict) -> Any:
        return self._sent_message(params)

    async def _m_deleteMessage(self, params: dict, files: dict) -> Any:
        return True

    async def _m_answerCallbackQuery(self, params: dict, files: dict) -> Any:
        return True

    async def _m_leaveChat(self, params: dict, files: dict) -> Any:
        return True

    async def _m_setMyCommands(self, params: dict, files: dict) -> Any:
        return True

    async def _m_getMyCommands(self, params: dict, files: dict) -> Any:
        return []

    async def _m_setMyDescription(self, params: dict, files: dict) -> Any:
        return True

    async def _m_setMyShortDescription(self, params: dict, files: dict) -> Any:
        return True

    async def _m_getChatMember(self, params: dict, files: dict) -> Any:
        chat_id, user_id = params.get("chat_id"), params.get("user_id")
        status = self.members.get((chat_id, user_id), "member")
        return _member(user(user_id), status)

    async def _m_getChatAdministrators(self, params: dict, files: dict) -> Any:
        chat_id = params.get("chat_id")
        return [
            _member(user(uid), status)
            for (cid, uid), status in self.members.items()
            if cid == chat_id and status in ("administrator", "creator")
        ]


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def _member(member_user: dict[str, Any], status: str) -> dict[str, Any]:
    """A ChatMember object with the fields PTB requires for each status."""
    body: dict[str, Any] = {"user": member_user, "status": status}
    if status == "administrator":
        body.update(
            {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
        )
    elif status == "creator":
        body["is_anonymous"] = False
    elif status == "restricted":
        body.update({"is_member": True, "until_date": 0})
    elif status == "kicked":
        body["until_date"] = 0
    return body


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)
