"""Cover the operator's window queries: ix_checks_created_at INCLUDEs the counted columns.

On PostgreSQL the stats, chart and paging counts over a time window then read only this
narrow index (index-only scans), not the wide check rows. SQLite keeps a plain index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 21:40:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERING = ["verdict", "media_kind", "source", "status", "model_version", "chat_id", "latency_ms",
            "fake_probability"]  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checks_created_at"))
        batch_op.create_index(
            batch_op.f("ix_checks_created_at"), ["created_at"], unique=False, postgresql_include=COVERING
        )


def downgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checks_created_at"))
        batch_op.create_index(batch_op.f("ix_checks_created_at"), ["created_at"], unique=False)
