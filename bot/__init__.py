"""fakewatch's Telegram bot (python-telegram-bot v22): forward media, get a verdict.

The bot never imports torch, dlib or ray: it talks to the serving app over HTTP
(``serving.client``) and keeps its durable job queue in the database (``db.jobs``).
"""

from bot.albums import AlbumReplies
from bot.app import BotConfigError, add_handlers, build_application, purge_now, running, worker_of
from bot.constants import Attachment, JobError, Threshold
from bot.handlers import attachment_of
from bot.intake import Intake, Poller
from bot.options import BotOptions
from bot.privacy import RedactingFilter, install_log_redaction, pseudonym, redact
from bot.ratelimit import InboundLimiter, TokenBucket
from bot.runtime import BOT_DATA_KEY, Runtime, runtime
from bot.worker import Worker

__all__ = [
    "BOT_DATA_KEY",
    "AlbumReplies",
    "Attachment",
    "BotConfigError",
    "BotOptions",
    "InboundLimiter",
    "Intake",
    "JobError",
    "Poller",
    "RedactingFilter",
    "Runtime",
    "Threshold",
    "TokenBucket",
    "Worker",
    "add_handlers",
    "attachment_of",
    "build_application",
    "install_log_redaction",
    "pseudonym",
    "purge_now",
    "redact",
    "running",
    "runtime",
    "worker_of",
]
