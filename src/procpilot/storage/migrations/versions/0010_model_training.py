"""Model training: a turn's context for the command generator, model versions and their events,
training jobs.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_NOW = sa.text("CURRENT_TIMESTAMP")


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.String(length=64), sa.ForeignKey("tenants.id"), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("context", sa.JSON(), nullable=True))
    op.create_table(
        "model_versions",
        sa.Column("id", sa.String(length=100), primary_key=True),
        _tenant(),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("pack_id", sa.String(length=100), nullable=False),
        sa.Column("use", sa.String(length=32), nullable=False),
        sa.Column("base", sa.String(length=1000), nullable=False),
        sa.Column("base_sha256", sa.String(length=64), nullable=False),
        sa.Column("dataset_version", sa.String(length=100), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("artifact", sa.String(length=1000), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_model_versions_use", "model_versions", ["tenant_id", "pack_id", "use", "status"])
    op.create_table(
        "model_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant(),
        sa.Column("version_id", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
    )
    op.create_index("ix_model_events_version", "model_events", ["tenant_id", "version_id", "id"])
    op.create_table(
        "training_jobs",
        sa.Column("id", sa.String(length=100), primary_key=True),
        _tenant(),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("pack_id", sa.String(length=100), nullable=False),
        sa.Column("use", sa.String(length=32), nullable=False),
        sa.Column("dataset_version", sa.String(length=100), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("stage", sa.String(length=32), server_default="queued", nullable=False),
        sa.Column("version_id", sa.String(length=100), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
    )
    op.create_index("ix_training_jobs_tenant", "training_jobs", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_training_jobs_tenant", table_name="training_jobs")
    op.drop_table("training_jobs")
    op.drop_index("ix_model_events_version", table_name="model_events")
    op.drop_table("model_events")
    op.drop_index("ix_model_versions_use", table_name="model_versions")
    op.drop_table("model_versions")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("context")
