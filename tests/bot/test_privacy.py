"""bot.privacy: keyed pseudonyms and the token-redacting log filter."""

from __future__ import annotations

import logging

from bot import RedactingFilter, install_log_redaction, pseudonym, redact

TOKEN = "123456789:AAH-fake_token_for_tests_0123456789abc"


def test_pseudonym_is_keyed_stable_and_not_the_id() -> None:
    a = pseudonym(4242, "secret-1")
    assert a == pseudonym(4242, "secret-1")
    assert a != pseudonym(4242, "secret-2")  # a different key gives a different pseudonym
    assert a != pseudonym(4243, "secret-1")
    assert "4242" not in a and len(a) == 64


def test_redact_removes_explicit_secrets_and_token_shapes() -> None:
    text = f"POST https://api.telegram.org/bot{TOKEN}/getUpdates and 987654321:{'x' * 35}"
    out = redact(text, ("pepper",))
    assert TOKEN not in out and "x" * 35 not in out
    assert out.count("[REDACTED]") == 2
    assert redact("pepper in the log", ("pepper",)) == "[REDACTED] in the log"


def test_filter_redacts_message_args_and_tracebacks(caplog) -> None:
    logger = logging.getLogger("test.bot.privacy")
    handler_filter = RedactingFilter(TOKEN)
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("calling %s", f"https://x/bot{TOKEN}/getMe")
        try:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
        except RuntimeError:
            logger.exception("failed")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert TOKEN not in caplog.text
    assert "[REDACTED]" in caplog.text


def test_install_silences_httpx_and_covers_child_loggers() -> None:
    root = logging.getLogger("test.bot.privacy.root")
    root.propagate = False
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    root.addHandler(Collect())
    install_log_redaction(TOKEN, logger=root)
    logging.getLogger("test.bot.privacy.root.child").warning("url %s", TOKEN)
    assert records and TOKEN not in records[0]
    assert logging.getLogger("httpx").level == logging.WARNING
