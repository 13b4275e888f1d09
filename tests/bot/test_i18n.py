"""bot.i18n: the catalogues agree with English, every message renders everywhere, language choice.

The structural checks read the catalogues with Fluent's own parser, so a translation that drops a
message, adds one, renames a variable or loses a variant of a word selector fails here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from babel import Locale
from fake_telegram import FakeTelegram
from fluent.syntax import FluentParser, ast
from fluent.syntax.visitor import Visitor
from markupsafe import Markup
from telegram import Bot

from bot import i18n
from bot.i18n import LANGUAGES, PLAIN_PREFIXES, Texts, bot_profiles, negotiate, register_bot_profiles

NBSP = "\xa0"
PLURAL_CATEGORIES = {"zero", "one", "two", "few", "many", "other"}


# --- reading the catalogues -------------------------------------------------------------------
def parse(language: str) -> ast.Resource:
    return FluentParser().parse(i18n.catalogue_path(language).read_text(encoding="utf-8"))


def messages(language: str) -> dict[str, ast.Message]:
    return {entry.id.name: entry for entry in parse(language).body if isinstance(entry, ast.Message)}


class _Collect(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.variables: set[str] = set()
        self.selects: list[ast.SelectExpression] = []

    def visit_VariableReference(self, node: ast.VariableReference) -> None:
        self.variables.add(node.id.name)
        self.generic_visit(node)

    def visit_SelectExpression(self, node: ast.SelectExpression) -> None:
        self.selects.append(node)
        self.generic_visit(node)


def collect(message: ast.Message) -> _Collect:
    visitor = _Collect()
    visitor.visit(message)
    return visitor


def variables(message: ast.Message) -> set[str]:
    return collect(message).variables


def key_name(variant: ast.Variant) -> str:
    return variant.key.name if isinstance(variant.key, ast.Identifier) else str(variant.key.value)


def selector_variable(select: ast.SelectExpression) -> str | None:
    sel = select.selector
    if isinstance(sel, ast.VariableReference):
        return sel.id.name
    if isinstance(sel, ast.FunctionReference) and sel.arguments.positional:
        first = sel.arguments.positional[0]
        if isinstance(first, ast.VariableReference):
            return first.id.name
    return None


def word_selectors(message: ast.Message) -> dict[str, set[frozenset[str]]]:
    """Selectors on words (not plural categories): variable -> the sets of variant keys."""
    found: dict[str, set[frozenset[str]]] = {}
    for select in collect(message).selects:
        keys = frozenset(key_name(v) for v in select.variants)
        if keys <= PLURAL_CATEGORIES:
            continue
        found.setdefault(selector_variable(select) or "?", set()).add(keys)
    return found


def plural_selectors(message: ast.Message) -> list[frozenset[str]]:
    return [
        frozenset(key_name(v) for v in s.variants)
        for s in collect(message).selects
        if {key_name(v) for v in s.variants} <= PLURAL_CATEGORIES
    ]


ENGLISH = messages("en")

# Sample values for every variable the catalogues use: every variant of every selector is hit.
SAMPLES: dict[str, list[Any]] = {
    "days": [1, 2, 5, 21, 30],
    "count": [1, 2, 5, 11, 21],
    "number": [1, 12],
    "probability": [0.0, 0.035, 0.5, 0.93],
    "kind": ["image", "video", "other"],
    "verdict": ["real", "uncertain", "fake", "no_face", "invalid", "queued", "running", "failed", "weird"],
    "worst": ["real", "uncertain", "fake", "no_face", "invalid"],
    "source": ["c2pa", "xmp", "png-text", "watermark", "other"],
    "generator": ["DALL·E 3", "<Adobe & Co>"],
    "threshold": ["uncertain", "fake"],
    "autocheck": ["on", "off"],
    "when": ["2026-12-03 09:15"],
    "percent": [Markup("87%")],
    "reason": [Markup("The file is empty.")],
    "times": [Markup("0:01.5, 1:04.2")],
    "items": ["real=3, fake=1"],
    "minutes": [0, 12],
    "seconds": [4.5, 59.95],
    "size_mb": [25.04],
    "limit_mb": [20],
    "status": ["404"],
    "p50": [812.4],
    "p95": [2400.0],
    "right": [3],
    "wrong": [0],
}


def sample_args(message_id: str) -> Iterator[dict[str, Any]]:
    names = sorted(variables(ENGLISH[message_id]))
    for values in itertools.product(*(SAMPLES[name] for name in names)):
        yield dict(zip(names, values, strict=True))


# --- structure: every catalogue has exactly English's messages and variables ------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_parses_without_junk(language: str) -> None:
    junk = [entry.content[:80] for entry in parse(language).body if isinstance(entry, ast.Junk)]
    assert junk == []


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_catalogue_has_exactly_the_english_messages(language: str) -> None:
    theirs = messages(language)
    assert sorted(set(ENGLISH) - set(theirs)) == [], "missing in " + language
    assert sorted(set(theirs) - set(ENGLISH)) == [], "not in English"


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_uses_the_english_variables(language: str) -> None:
    theirs = messages(language)
    differ = {
        mid: (sorted(variables(ENGLISH[mid])), sorted(variables(theirs[mid])))
        for mid in ENGLISH
        if mid in theirs and variables(ENGLISH[mid]) != variables(theirs[mid])
    }
    assert differ == {}


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_word_selectors_keep_the_english_variants(language: str) -> None:
    theirs = messages(language)
    differ = {mid: (word_selectors(ENGLISH[mid]), word_selectors(theirs[mid])) for mid in ENGLISH if mid in theirs}
    assert {mid: pair for mid, pair in differ.items() if pair[0] != pair[1]} == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_selectors_cover_the_language_forms(language: str) -> None:
    """Russian and Ukrainian need one/few/many for whole numbers; English needs one/other."""
    locale = Locale.parse(language)
    needed = {locale.plural_form(n) for n in range(0, 1000)}
    for mid, message in messages(language).items():
        for keys in plural_selectors(message):
            assert keys <= set(locale.plural_form.tags) | {"other"}, (mid, keys)
            assert needed <= keys | {"other"}, (mid, keys, needed)


def test_sample_values_cover_every_variable() -> None:
    used = set().union(*(variables(m) for m in ENGLISH.values()))
    assert used <= set(SAMPLES), sorted(used - set(SAMPLES))


def test_menu_commands_have_messages() -> None:
    assert i18n.MENU_COMMANDS and all(f"command-{name}" in ENGLISH for name in i18n.MENU_COMMANDS)


# --- rendering: every message, every language, every variant, no Fluent errors -----------------
ALLOWED_TAGS = {"b", "i", "a", "u", "s", "code", "pre"}
_TAG = re.compile(r"<(/?)([a-z-]+)(?:\s[^<>]*)?>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+);")


def telegram_html_problems(text: str) -> list[str]:
    """What Telegram's HTML parse mode would refuse: unknown or unbalanced tags, bare < > &."""
    problems, stack = [], []
    for match in _TAG.finditer(text):
        closing, tag = match.group(1) == "/", match.group(2)
        if tag not in ALLOWED_TAGS:
            problems.append(f"tag {tag}")
        elif closing:
            if not stack or stack.pop() != tag:
                problems.append(f"unbalanced </{tag}>")
        else:
            stack.append(tag)
    problems += [f"unclosed <{tag}>" for tag in stack]
    rest = _ENTITY.sub("", _TAG.sub("", text))
    problems += [f"bare {ch!r}" for ch in "<>&" if ch in rest]
    return problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_renders_with_sample_arguments(language: str) -> None:
    texts = Texts(language)
    rendered = 0
    for mid in ENGLISH:
        for args in sample_args(mid):
            plain = mid.startswith(PLAIN_PREFIXES)
            text, errors = texts.format(mid, args, html=not plain)
            assert errors == [], (language, mid, args, errors)
            assert text.strip() and "{" not in text and "}" not in text, (language, mid, text)
            assert len(text) <= 4096, (language, mid)
            if plain:
                assert not re.search(r"[<>&]", text), (language, mid, text)
            else:
                assert telegram_html_problems(text) == [], (language, mid, args, text)
            rendered += 1
    assert rendered > len(ENGLISH)


def test_translations_are_not_english_copies() -> None:
    """A message copied untranslated is caught (ids whose text is the same in every language excepted)."""
    same_everywhere = {
        "invalid",
        "album-item-invalid",
        "percent",
        "no-percent",
        "moment",
        "autocheck-usage",
        "threshold-usage",
    }
    en = Texts("en")
    for language in LANGUAGES[1:]:
        texts = Texts(language)
        copied = [
            mid
            for mid in ENGLISH
            if mid not in same_everywhere
            and all(texts.format(mid, a)[0] == en.format(mid, a)[0] for a in itertools.islice(sample_args(mid), 3))
        ]
        assert copied == [], (language, copied)


# --- plural forms, numbers and escaping -----------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "days", "expected"),
    [
        ("en", 1, "1 day."), ("en", 30, "30 days."),
        ("ru", 1, "1 день."), ("ru", 3, "3 дня."), ("ru", 5, "5 дней."), ("ru", 11, "11 дней."),
        ("ru", 21, "21 день."), ("ru", 24, "24 дня."),
        ("uk", 2, "2 дні."), ("uk", 25, "25 днів."), ("uk", 31, "31 день."),
        ("de", 1, "1 Tag gelöscht"), ("de", 30, "30 Tagen gelöscht"),
        ("es", 1, "pasado 1 día."), ("es", 30, "pasados 30 días."),
    ],
)  # fmt: skip
def test_day_counts_use_the_language_plural_forms(language: str, days: int, expected: str) -> None:
    assert expected in Texts(language).t("settings-private", days=days)


def test_face_and_people_counts() -> None:
    ru, uk, en = Texts("ru"), Texts("uk"), Texts("en")
    pct = Markup("50%")
    assert "проверено 2 лица" in ru.t("score", percent=pct, kind="image", count=2)
    assert "проверено 5 лиц" in ru.t("score", percent=pct, kind="image", count=5)
    assert "проверен 1 человек" in ru.t("score", percent=pct, kind="video", count=1)
    assert "перевірено 5 облич" in uk.t("score", percent=pct, kind="image", count=5)
    assert "1 face checked" in en.t("score", percent=pct, kind="image", count=1)
    assert "3 people checked" in en.t("score", percent=pct, kind="video", count=3)


def test_percent_and_decimals_follow_the_locale() -> None:
    assert Texts("en").t("percent", probability=0.934) == "93%"
    assert Texts("ru").t("percent", probability=0.934) == f"93{NBSP}%"
    assert Texts("de").t("percent", probability=0.04) == f"4{NBSP}%"
    assert Texts("uk").t("percent", probability=0.5) == "50%"
    assert Texts("en").t("moment", minutes=1, seconds=4.25) == "1:04.2"
    assert Texts("ru").t("moment", minutes=0, seconds=4.5) == "0:04,5"
    assert "(25.0 MB)" in Texts("en").t("too-large-size", size_mb=25.0, limit_mb=20)
    assert "(25,0 МБ)" in Texts("ru").t("too-large-size", size_mb=25.0, limit_mb=20)


def test_string_arguments_are_escaped_and_markup_is_not() -> None:
    texts = Texts("en")
    text = texts.t("provenance-ai-named", source="c2pa", generator='<img src=x onerror="a&b">')
    assert "&lt;img src=x onerror=" in text and "&amp;b" in text and "<img" not in text
    assert isinstance(text, Markup)
    nested = texts.t("invalid", reason=texts.t("invalid-empty"))
    assert nested == "❌ The file is empty."
    assert texts.t("invalid", reason="a < b") == "❌ a &lt; b"
    assert texts.plain("feedback-thanks") == "Thanks, noted!"


def test_unknown_message_is_a_clear_error() -> None:
    with pytest.raises(i18n.UnknownMessage):
        Texts("ru").t("no-such-message")


# --- choosing the language ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("ru", "ru"), ("uk-UA", "uk"), ("uk", "uk"), ("es-419", "es"), ("es_MX", "es"),
        ("DE", "de"), ("de-AT", "de"), ("en-GB", "en"), ("pt-br", "en"), ("fr", "en"),
        ("", "en"), (None, "en"), ("  ", "en"),
    ],
)  # fmt: skip
def test_language_code_picks_the_catalogue(code: str | None, language: str) -> None:
    assert negotiate(code) == language
    assert Texts.for_language(code).language == language


def test_for_user_reads_language_code() -> None:
    class User:
        language_code = "uk-UA"

    assert Texts.for_user(User()).language == "uk"
    assert Texts.for_user(None).language == "en"
    assert Texts.for_language("ru") is Texts.for_language("ru-RU")  # cached, one per language


# --- the bot's profile per language ------------------------------------------------------------------
def test_bot_profiles_fit_telegram_limits() -> None:
    profiles = bot_profiles()
    assert [p.language_code for p in profiles] == [None] + [lang for lang in LANGUAGES if lang != "en"]
    for profile in profiles:
        assert [name for name, _ in profile.commands] == list(i18n.MENU_COMMANDS)
        for name, description in profile.commands:
            assert re.fullmatch(r"[a-z0-9_]{1,32}", name)
            assert 3 <= len(description) <= 256
        assert 0 < len(profile.description) <= 512
        assert 0 < len(profile.short_description) <= 120
    assert profiles[0].description.startswith("I check photos")
    assert dict(profiles[1].commands)["history"] == "ваши последние проверки"


class ProfileTelegram(FakeTelegram):
    """The fake Bot API plus the two profile methods it lacks today."""

    async def _m_setMyDescription(self, params: dict, files: dict) -> Any:
        return True

    async def _m_setMyShortDescription(self, params: dict, files: dict) -> Any:
        return True


async def test_register_bot_profiles_over_http() -> None:
    telegram = await ProfileTelegram().start()
    try:
        async with Bot(telegram.token, base_url=telegram.base_url) as bot:
            await register_bot_profiles(bot)
        commands = telegram.sent("setMyCommands")
        assert [c.params.get("language_code") for c in commands] == [None, "ru", "uk", "es", "de"]
        ru = next(c for c in commands if c.params.get("language_code") == "ru")
        assert ru.params["commands"][0] == {"command": "start", "description": "что умеет этот бот"}
        descriptions = {
            c.params.get("language_code"): c.params["description"] for c in telegram.sent("setMyDescription")
        }
        assert descriptions["de"].startswith("Ich prüfe Fotos") and descriptions[None].startswith("I check")
        assert len(telegram.sent("setMyShortDescription")) == len(LANGUAGES)
    finally:
        await telegram.close()
