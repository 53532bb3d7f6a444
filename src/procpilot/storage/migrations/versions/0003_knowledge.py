"""Knowledge: documents, access labels, chunks with embeddings, and full-text search.

SQLite gets an FTS5 table (``kb_fts``, rowid = chunk id, Porter stemming). PostgreSQL gets a
generated tsvector column with a GIN index and, where the pgvector extension can be installed, an
``embedding_vec`` column for vector search inside the query.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("collection", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "collection", "source"),
    )
    op.create_table(
        "kb_labels",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["kb_documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id", "label"),
    )
    op.create_table(
        "kb_chunks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("collection", sa.String(length=100), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("section", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["kb_documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kb_chunks_scope", "kb_chunks", ["tenant_id", "collection"], unique=False)
    op.create_index("ix_kb_chunks_document", "kb_chunks", ["document_id"], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE kb_fts USING fts5(title, section, text, tenant_id UNINDEXED, tokenize = 'porter unicode61')"
        )
        return
    op.execute(
        "ALTER TABLE kb_chunks ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('english', coalesce(title, '') || ' ' || coalesce(section, '')), 'A') || "
        "setweight(to_tsvector('english', coalesce(text, '')), 'B')) STORED"
    )
    op.execute("CREATE INDEX ix_kb_chunks_search ON kb_chunks USING gin (search_vector)")
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).scalar()
    if available:
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
        # No dimension: the embedding model is configurable. Search is exact (no ANN index), which
        # stays fast at tens of thousands of chunks; see the README for adding an HNSW index.
        op.execute("ALTER TABLE kb_chunks ADD COLUMN embedding_vec vector")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS kb_fts")
    op.drop_table("kb_chunks")
    op.drop_table("kb_labels")
    op.drop_table("kb_documents")
