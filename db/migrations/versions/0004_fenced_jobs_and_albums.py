"""Fenced jobs, a claimed answer per check, albums and the ingest watermark in the database.

Why: a job's final writes name the claim's ``lease_token`` (a stale worker writes nothing); the
answer is claimed before it is sent and stamped after (``answer_claimed_at``/``answered_at``);
albums are assembled in ``albums`` so any bot process can send their one reply; and the
poller's ``ingest_marks`` row says up to when Telegram's updates are all committed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 04:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("timeouts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("answer_claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("answer_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("answer_claims", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("album_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_checks_album_key"), ["album_key"], unique=False)

    op.create_table(
        "albums",
        sa.Column("album_key", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("reply_to_message_id", sa.BigInteger(), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("silent", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.String(length=16), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("first_item_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_item_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reply_token", sa.String(length=32), nullable=True),
        sa.Column("reply_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_claims", sa.Integer(), nullable=False),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("album_key", name=op.f("pk_albums")),
    )
    with op.batch_alter_table("albums", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_albums_replied_at_last_item_at"), ["replied_at", "last_item_at"],
                              unique=False)  # fmt: skip

    op.create_table(
        "ingest_marks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ingest_marks")),
    )


def downgrade() -> None:
    op.drop_table("ingest_marks")
    with op.batch_alter_table("albums", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_albums_replied_at_last_item_at"))
    op.drop_table("albums")
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checks_album_key"))
        for column in ("album_key", "answered_at", "answer_claims", "answer_token", "answer_claimed_at", "outcome_at",
                       "timeouts", "lease_token"):  # fmt: skip
            batch_op.drop_column(column)
