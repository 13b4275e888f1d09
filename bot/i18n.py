"""Message catalogues: every text the bot sends, in the user's language (Project Fluent).

Why Fluent rather than gettext: one message may hold several plural selectors (Russian and
Ukrainian have three integer forms) and selectors on words ("photo"/"video") so a translation
can make articles and adjectives agree; variables are named, so a test proves that every language
uses the same ones; numbers (percent, megabytes, decimals) are formatted per locale by Babel
through Fluent's ``NUMBER``. The catalogues live in ``bot/locales/<language>/fakewatch.ftl``.

Replies are sent with Telegram's HTML parse mode, so :meth:`Texts.t` escapes every string
argument (a generator name read from a file is untrusted text) and returns ``markupsafe.Markup``;
a ``Markup`` argument (another rendered message) is inserted as it is. Texts Telegram shows
as plain text (command menu, bot profile, buttons, button answers) come from :meth:`Texts.plain`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fluent.runtime import FluentBundle, FluentResource
from markupsafe import Markup, escape

from bot.constants import PUBLIC_COMMANDS

_LOGGER = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
RESOURCE_NAME = "fakewatch.ftl"
DEFAULT_LANGUAGE = "en"
#: Languages with a catalogue; English is the fallback for every other ``language_code``.
LANGUAGES: tuple[str, ...] = ("en", "ru", "uk", "es", "de")
#: Messages sent as plain text (no parse mode): they must hold no markup and are not escaped.
PLAIN_PREFIXES: tuple[str, ...] = ("command-", "bot-", "feedback-")
#: The commands in the menu (setMyCommands), in order; each has a ``command-<name>`` message
#: (the English wording in ``PUBLIC_COMMANDS`` is superseded by the catalogue).
MENU_COMMANDS: tuple[str, ...] = tuple(name for name, _ in PUBLIC_COMMANDS)


class UnknownMessage(KeyError):
    """A message id that no catalogue has (a bug: the tests render every id the code uses)."""


def negotiate(language_code: str | None) -> str:
    """The catalogue for Telegram's ``language_code`` ("ru", "uk-UA", "pt-br", None…).

    Only the primary subtag matters (our catalogues are not regional); anything we have no
    catalogue for gets English.
    """
    if not language_code:
        return DEFAULT_LANGUAGE
    primary = str(language_code).strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def catalogue_path(language: str) -> Path:
    return LOCALES_DIR / language / RESOURCE_NAME


def _bundle(language: str) -> FluentBundle:
    # use_isolating=False: no invisible Unicode isolation marks around arguments (all our
    # languages are left-to-right, and the marks would end up in copied text and commands).
    bundle = FluentBundle([language], use_isolating=False)
    bundle.add_resource(FluentResource(catalogue_path(language).read_text(encoding="utf-8")))
    return bundle


def _fluent_arg(value: Any, *, html: bool) -> Any:
    """A Python value as a Fluent argument: numbers stay numbers, text is escaped for HTML."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, Decimal)):
        return value
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    text = str(value)  # enums give their value
    return str(escape(text)) if html else text


class Texts:
    """One language's catalogue (falling back to English message by message)."""

    def __init__(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"no catalogue for {language!r}; have {LANGUAGES}")
        self.language = language
        self._bundle = _bundle(language)
        self._fallback = self._bundle if language == DEFAULT_LANGUAGE else _texts(DEFAULT_LANGUAGE)._bundle

    @classmethod
    def for_language(cls, language_code: str | None) -> Texts:
        """The catalogue for a Telegram ``language_code``; English when we have none for it."""
        return _texts(negotiate(language_code))

    @classmethod
    def for_user(cls, user: Any) -> Texts:
        """The catalogue for a ``telegram.User`` (or anything with ``language_code``, or None)."""
        return cls.for_language(getattr(user, "language_code", None))

    def has(self, message_id: str) -> bool:
        return self._bundle.has_message(message_id)

    def format(self, message_id: str, args: Mapping[str, Any], *, html: bool = True) -> tuple[str, list[Exception]]:
        """The rendered text and Fluent's errors (a missing variable, a bad function call…)."""
        bundle = self._bundle if self._bundle.has_message(message_id) else self._fallback
        if not bundle.has_message(message_id):
            raise UnknownMessage(message_id)
        message = bundle.get_message(message_id)
        if message.value is None:
            raise UnknownMessage(f"{message_id} has no value")
        fluent_args = {name: _fluent_arg(value, html=html) for name, value in args.items()}
        text, errors = bundle.format_pattern(message.value, fluent_args)
        if not isinstance(text, str):  # FluentNone: the pattern resolved to nothing usable
            text = text.name or message_id
        return text, list(errors)

    def t(self, message_id: str, /, **args: Any) -> Markup:
        """A message as Telegram HTML; string arguments are escaped unless they are ``Markup``."""
        text, errors = self.format(message_id, args, html=True)
        if errors:  # Fluent still returns its best text; log instead of failing a reply
            _LOGGER.error("message %s (%s): %s", message_id, self.language, errors)
        return Markup(text)

    def plain(self, message_id: str, /, **args: Any) -> str:
        """A message Telegram shows as plain text (commands, profile, buttons): nothing escaped."""
        text, errors = self.format(message_id, args, html=False)
        if errors:
            _LOGGER.error("message %s (%s): %s", message_id, self.language, errors)
        return text

    def __repr__(self) -> str:
        return f"Texts({self.language!r})"


@functools.cache
def _texts(language: str) -> Texts:
    return Texts(language)


# --- the bot's profile per language (setMyCommands, setMyDescription, setMyShortDescription) ----
@dataclass(frozen=True)
class BotProfile:
    """What Telegram shows about the bot to users of one language.

    ``language_code`` None is the default profile (English), shown to every user whose language
    has no profile of its own.
    """

    language_code: str | None
    commands: tuple[tuple[str, str], ...]
    description: str  # setMyDescription: the empty chat's "What can this bot do?" (≤ 512)
    short_description: str  # setMyShortDescription: profile page and shares (≤ 120)


def bot_profile(language: str, *, language_code: str | None = None) -> BotProfile:
    texts = _texts(language)
    return BotProfile(
        language_code=language_code,
        commands=tuple((name, texts.plain(f"command-{name}")) for name in MENU_COMMANDS),
        description=texts.plain("bot-description"),
        short_description=texts.plain("bot-short-description"),
    )


def bot_profiles() -> list[BotProfile]:
    """The default profile (English, no language code) and one per other language."""
    profiles = [bot_profile(DEFAULT_LANGUAGE)]
    profiles += [bot_profile(lang, language_code=lang) for lang in LANGUAGES if lang != DEFAULT_LANGUAGE]
    return profiles


async def register_bot_profiles(bot: Any) -> None:
    """Send every profile to Telegram (``bot`` is a ``telegram.Bot``); call once at start-up."""
    from telegram import BotCommand  # the catalogue itself does not need PTB

    for profile in bot_profiles():
        await bot.set_my_commands(
            [BotCommand(name, text) for name, text in profile.commands],
            language_code=profile.language_code,
        )
        await bot.set_my_description(profile.description, language_code=profile.language_code)
        await bot.set_my_short_description(profile.short_description, language_code=profile.language_code)
