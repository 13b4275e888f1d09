"""The operator web console: sign in with the operator token, see the dashboard, search the log.

``create_console_app(session_factory, operator_token)`` builds the aiohttp application so
``fakewatch console``, ``fakewatch run`` and the tests can all serve it.
"""

from fakewatch.console.app import create_console_app
from fakewatch.console.auth import COOKIE_NAME, SESSION_TTL_S

__all__ = ["COOKIE_NAME", "SESSION_TTL_S", "create_console_app"]
