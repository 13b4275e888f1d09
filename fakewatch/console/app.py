"""The console's aiohttp application: routes, page handlers and security headers."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import queries, stats
from db.export import export_csv
from db.filters import VERDICTS, CheckFilter, FilterError
from db.models import utcnow
from fakewatch.console import charts
from fakewatch.console.auth import COOKIE_NAME, SessionStore, SignInThrottle, token_matches
from fakewatch.net import client_address, forwarded_https, limit_key, parse_networks

_LOGGER = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
WINDOWS_DAYS = (7, 14, 30, 90)
DEFAULT_WINDOW_DAYS = 14
PAGE_SIZE = 50
FILTER_FIELDS = ("since", "until", "verdict", "chat_id", "user_pseudonym", "min_probability", "model_version")

SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
TOKEN = web.AppKey("operator_token", str)
LOGINS = web.AppKey("logins", SessionStore)
THROTTLE = web.AppKey("throttle", SignInThrottle)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", Sequence)
PRODUCTION = web.AppKey("production", bool)

# Pages that can be reached without signing in.
PUBLIC_PATHS = ("/login", "/static/")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Production only: the console is then reached over HTTPS (a TLS proxy in front); browsers keep
# to HTTPS for a year after seeing this (and ignore it on plain-HTTP answers).
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def _render(request: web.Request, name: str, *, status: int = 200, **context: Any) -> web.Response:
    template = request.app[TEMPLATES].get_template(name)
    context.setdefault("signed_in", _signed_in(request))
    context.setdefault("path", request.path)
    return web.Response(text=template.render(**context), status=status, content_type="text/html")


def _signed_in(request: web.Request) -> bool:
    return request.app[LOGINS].valid(request.cookies.get(COOKIE_NAME))


def _client(request: web.Request) -> str:
    """The real client: the peer, or what a trusted proxy says in X-Forwarded-For (only then)."""
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", []), request.app[TRUSTED_PROXIES])


def _https(request: web.Request) -> bool:
    """The browser's connection is HTTPS: ours, or a trusted proxy's X-Forwarded-Proto says so."""
    return request.secure or forwarded_https(
        request.remote, request.headers.get("X-Forwarded-Proto"), request.app[TRUSTED_PROXIES]
    )


@web.middleware
async def security_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every page but sign-in and static files needs a session; every answer gets strict headers."""
    if not request.path.startswith(PUBLIC_PATHS) and not _signed_in(request):
        if request.method == "GET":
            response: web.StreamResponse = _see_other("/login")
        else:
            response = web.Response(status=401, text="sign in first")
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # a raised redirect or error becomes a plain response
            response = web.Response(status=exc.status, reason=exc.reason, text=exc.text, headers=exc.headers)
    _secure_headers(request, response)
    return response


def _see_other(location: str) -> web.Response:
    """A 303 redirect as a response (aiohttp deprecates returning its HTTPException objects)."""
    return web.Response(status=303, headers={"Location": location})


def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.app[PRODUCTION]:
        response.headers.setdefault(*HSTS)


# --- sign-in ---------------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    if _signed_in(request):
        raise web.HTTPSeeOther("/")
    return _render(request, "login.html", error=None)


async def login_submit(request: web.Request) -> web.StreamResponse:
    client = _client(request)
    throttle = request.app[THROTTLE]
    guesser = limit_key(client)  # an IPv6 client counts as its /64
    if throttle.blocked(guesser):
        return _render(request, "login.html", status=429, error="Too many wrong tokens; wait a minute.")
    form = await request.post()
    given = form.get("token")
    if not isinstance(given, str) or not token_matches(given, request.app[TOKEN]):
        throttle.failed(guesser)
        _LOGGER.warning("console sign-in refused from %s", client)  # never the token itself
        return _render(request, "login.html", status=403, error="That token is not right.")
    throttle.succeeded(guesser)
    response = _see_other("/")
    response.set_cookie(
        COOKIE_NAME,
        request.app[LOGINS].create(),
        max_age=int(request.app[LOGINS].ttl_s),
        path="/",
        httponly=True,
        samesite="Strict",
        # always in production; elsewhere when the browser's side is HTTPS (direct or proxied)
        secure=request.app[PRODUCTION] or _https(request),
    )
    _LOGGER.info("console sign-in from %s", client)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    request.app[LOGINS].end(request.cookies.get(COOKIE_NAME))
    response = _see_other("/login")
    response.del_cookie(COOKIE_NAME, path="/")
    return response


# --- pages -----------------------------------------------------------------------------------


def _window_days(request: web.Request) -> int:
    try:
        days = int(request.query.get("days", DEFAULT_WINDOW_DAYS))
    except ValueError:
        days = DEFAULT_WINDOW_DAYS
    return days if days in WINDOWS_DAYS else DEFAULT_WINDOW_DAYS


async def dashboard(request: web.Request) -> web.Response:
    days = _window_days(request)
    until = utcnow()
    since = (until - dt.timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    async with request.app[SESSIONS]() as s:
        st = await stats.stats(s, since=since, until=until)
        per_day = await stats.checks_per_day(s, since=since, until=until)
        latency = await stats.latency_per_day(s, since=since, until=until)
    day_list = charts.days_between(since, until)
    return _render(
        request,
        "dashboard.html",
        stats=st.to_dict(),
        days=days,
        windows=WINDOWS_DAYS,
        since=since,
        chart_checks=charts.checks_per_day_chart(per_day, day_list),
        chart_latency=charts.latency_chart(latency, day_list),
        chart_agreement=charts.agreement_chart(st.feedback),
        colors=charts.VERDICT_COLORS,
    )


def _filters(request: web.Request) -> tuple[dict[str, str], CheckFilter]:
    raw = {k: request.query.get(k, "").strip() for k in FILTER_FIELDS}
    return raw, CheckFilter.from_strings(now=None, **raw)


def _page_number(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("page", "1")))
    except ValueError:
        return 1


async def checks_page(request: web.Request) -> web.Response:
    raw = {k: request.query.get(k, "").strip() for k in FILTER_FIELDS}
    try:
        _, flt = _filters(request)
    except FilterError as exc:
        return _render(request, "checks.html", status=400, error=str(exc), raw=raw, page=None,
                       verdicts=VERDICTS, query="", export_query="")  # fmt: skip
    page_no = _page_number(request)
    async with request.app[SESSIONS]() as s:
        page = await queries.list_checks(s, flt, limit=PAGE_SIZE, page=page_no)
    kept = {k: v for k, v in raw.items() if v}
    return _render(
        request,
        "checks.html",
        error=None,
        raw=raw,
        page=page,
        verdicts=VERDICTS,
        query=urlencode(kept),
        export_query=urlencode(kept),
        colors=charts.VERDICT_COLORS,
    )


async def export_page(request: web.Request) -> web.StreamResponse:
    """The filtered log as CSV, streamed in batches (any size, flat memory)."""
    try:
        _, flt = _filters(request)
    except FilterError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="fakewatch-checks-{utcnow():%Y%m%d-%H%M%S}.csv"',
        }
    )
    _secure_headers(request, response)
    await response.prepare(request)
    async with request.app[SESSIONS]() as s:
        await export_csv(s, flt, response.write)
    await response.write_eof()
    return response


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.1f}%"
    env.filters["ms"] = lambda v: "–" if v is None else f"{v:.0f} ms"
    env.filters["prob"] = lambda v: "–" if v is None else f"{100 * v:.0f}%"
    env.filters["when"] = lambda v: "–" if not v else str(v)[:19].replace("T", " ")
    return env


def create_console_app(
    session_factory: async_sessionmaker[AsyncSession],
    operator_token: Any,
    *,
    trusted_proxies: list[str] | tuple[str, ...] = (),
    production: bool = False,
) -> web.Application:
    """The operator console as an aiohttp app (mount it or run it with ``web.run_app``).

    ``trusted_proxies``: addresses or networks of the TLS proxy in front (settings.trusted_proxies),
    whose X-Forwarded-For names the client (sign-in throttle, logs) and whose X-Forwarded-Proto
    marks HTTPS; ``production``: Secure cookie always, and HSTS.
    """
    token = operator_token.get_secret_value() if hasattr(operator_token, "get_secret_value") else operator_token
    if not isinstance(token, str) or len(token) < 8:
        raise ValueError("the operator token must be a string of at least 8 characters")
    app = web.Application(middlewares=[security_middleware], client_max_size=64 * 1024)
    app[TRUSTED_PROXIES] = parse_networks(trusted_proxies)
    app[PRODUCTION] = bool(production)
    app[SESSIONS] = session_factory
    app[TOKEN] = token
    app[LOGINS] = SessionStore()
    app[THROTTLE] = SignInThrottle()
    app[TEMPLATES] = _templates()
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", dashboard)
    app.router.add_get("/checks", checks_page)
    app.router.add_get("/export.csv", export_page)
    app.router.add_static("/static/", HERE / "static", follow_symlinks=False)
    return app
