"""Approval resumption: a decided task records when its flow was resumed, and an edited draft.

A decision is stored in one transaction and its flow resumed after it; a crash in between left
the flow waiting for ever. ``resumed_at`` is set once the flow has the decision, so workers find
decided-but-unresumed tasks and resume them; ``decided_text`` keeps a reviewer's edit for that.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("decided_text", sa.Text(), nullable=True))
    # Tasks decided before this version were resumed (or are beyond helping): not swept again.
    op.execute("UPDATE approvals SET resumed_at = decided_at WHERE status != 'pending'")


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("decided_text")
        batch.drop_column("resumed_at")
