"""The first schema: tenants, people and roles, conversations, events, processes, approvals, tool calls.

Revision ID: 0001
"""

from alembic import op

from procpilot.storage.tables import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # The first migration creates the tables as they were defined then. Later migrations must
    # alter explicitly and never rely on `metadata` again.
    metadata.create_all(bind)
    if bind.dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER events_append_only_{action.lower()} BEFORE {action} ON events "
                "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION procpilot_events_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'events are append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION procpilot_events_append_only()"
        )


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
