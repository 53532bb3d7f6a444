"""The tables. Every row belongs to a tenant; ``events`` is append-only (enforced by triggers)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

_NOW = sa.func.current_timestamp()

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
)

users = sa.Table(
    "users",
    metadata,
    # A user's id is theirs within the tenant (a pack reads it as ``user.id``: an employee number).
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("password_hash", sa.String(300)),
    sa.Column("language", sa.String(16), nullable=False, server_default="en"),
    sa.Column("attributes", sa.JSON, nullable=False, default=dict),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.UniqueConstraint("tenant_id", "username"),
)

roles = sa.Table(
    "roles",
    metadata,
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("description", sa.String(300), nullable=False, server_default=""),
)

user_roles = sa.Table(
    "user_roles",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(64), primary_key=True),
    sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("key_hash", sa.String(200), nullable=False, unique=True),
    sa.Column("roles", sa.JSON, nullable=False, default=list),
    sa.Column("created_by", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

# A person's login: the cookie carries a random token, the table its SHA-256 only.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
)

# Failed log-ins, to refuse guessing: an account is locked for a while after a few in a row.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Index("ix_login_failures_user", "tenant_id", "username", "failed_at"),
)

# Responses of POSTs sent with an Idempotency-Key, kept to answer a replay with the same response.
idempotency_records = sa.Table(
    "idempotency_records",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("principal", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("content_type", sa.String(100)),
    sa.Column("body", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
)

# OpenAI-compatible clients resend the whole chat each time: the digest of the messages so far
# names the conversation they continue.
conversation_keys = sa.Table(
    "conversation_keys",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("conversation_id", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False, index=True),
    sa.Column("pack_id", sa.String(100), nullable=False),
    sa.Column("user_id", sa.String(64)),
    sa.Column("channel", sa.String(32), nullable=False, server_default="api"),
    sa.Column("state", sa.JSON, nullable=False, default=dict),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(32), nullable=False, server_default="active"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("title", sa.String(200)),  # the owner's own name for it; else its first request
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("conversation_id", sa.String(100), sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("data", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Index("ix_messages_conversation", "tenant_id", "conversation_id", "id"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("conversation_id", sa.String(100), sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("data", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Index("ix_events_conversation", "tenant_id", "conversation_id", "id"),
)

process_instances = sa.Table(
    "process_instances",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(100), sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("pack_id", sa.String(100), nullable=False),
    sa.Column("pack_version", sa.String(64), nullable=False),
    sa.Column("flow_id", sa.String(100), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(100), sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("instance_id", sa.String(100)),
    sa.Column("flow_id", sa.String(100), nullable=False),
    sa.Column("step_id", sa.String(100), nullable=False),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False, server_default="approval"),
    sa.Column("role", sa.String(64)),
    sa.Column("assignee", sa.String(64)),
    sa.Column("requester", sa.String(64)),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.String(32), nullable=False, server_default="pending"),
    sa.Column("comment", sa.Text),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("due_at", sa.DateTime(timezone=True)),
    # Set once the flow has the decision; a decided task without it is resumed by a worker.
    sa.Column("resumed_at", sa.DateTime(timezone=True)),
    sa.Column("decided_text", sa.Text),  # a reviewer's edit of a held draft
    sa.UniqueConstraint("tenant_id", "key"),
)

model_calls = sa.Table(
    "model_calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("conversation_id", sa.String(100)),
    sa.Column("use", sa.String(32), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duration_ms", sa.Float),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Index("ix_model_calls_tenant", "tenant_id", "conversation_id"),
)

tool_calls = sa.Table(
    "tool_calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("conversation_id", sa.String(100), sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("flow_id", sa.String(100), nullable=False),
    sa.Column("step_id", sa.String(100), nullable=False),
    sa.Column("tool", sa.String(100), nullable=False),
    sa.Column("args", sa.JSON, nullable=False, default=dict),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("result", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Float),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Index("ix_tool_calls_conversation", "tenant_id", "conversation_id"),
)

# Knowledge: documents per tenant and collection (a pack's id, or a name given at ingestion), the
# access labels that may read them, and their chunks with an embedding (float32 bytes).
# The migrations add what only one database has: on SQLite the FTS5 table ``kb_fts`` (rowid = chunk
# id); on PostgreSQL a generated ``search_vector`` tsvector column with a GIN index and, where the
# pgvector extension is installed, an ``embedding_vec`` column. ``DIALECT_ONLY`` names them.
kb_documents = sa.Table(
    "kb_documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("collection", sa.String(100), nullable=False),
    sa.Column("source", sa.String(500), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False, default=list),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.UniqueConstraint("tenant_id", "collection", "source"),
)

kb_labels = sa.Table(
    "kb_labels",
    metadata,
    sa.Column(
        "document_id", sa.Integer, sa.ForeignKey("kb_documents.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("label", sa.String(100), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
)

kb_chunks = sa.Table(
    "kb_chunks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("collection", sa.String(100), nullable=False),
    sa.Column(
        "document_id", sa.Integer, sa.ForeignKey("kb_documents.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("section", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("embedding", sa.LargeBinary),
    sa.Index("ix_kb_chunks_scope", "tenant_id", "collection"),
    sa.Index("ix_kb_chunks_document", "document_id"),
)

# Durable timers of waiting flows: wait steps and delayed tool retries. The process engine fires
# them when they fall due; this row is what is waiting, for timelines, tests and safety scans.
timers = sa.Table(
    "timers",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("conversation_id", sa.String(100), sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("frame_id", sa.String(64), nullable=False),
    sa.Column("step_id", sa.String(100), nullable=False),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("fired_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("tenant_id", "key"),
    sa.Index("ix_timers_due", "status", "due_at"),
)

# Each version of a pack's flows that a conversation ran under, so a waiting conversation can go on
# under its version after the pack changed (shared by every worker through the database).
pack_snapshots = sa.Table(
    "pack_snapshots",
    metadata,
    sa.Column("pack_id", sa.String(100), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
)

DIALECT_ONLY = ("kb_fts", "search_vector", "ix_kb_chunks_search", "embedding_vec")

# Workers of the process engine and their heartbeats. Not tenant data: a worker serves every tenant.
worker_leases = sa.Table(
    "worker_leases",
    metadata,
    sa.Column("executor_id", sa.String(200), primary_key=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
)

SYSTEM_TABLES = ("worker_leases", "pack_snapshots")

# --- Data collection: what the assistant did, people's ratings and reviews, datasets. ---

# One turn: a person's message and what the assistant made of it (commands, slots set, tools
# called, replies), recorded after the message was handled, for review and for training data.
turns = sa.Table(
    "turns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("conversation_id", sa.String(100), sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("pack_id", sa.String(100), nullable=False),
    sa.Column("user_message_id", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("flow", sa.String(100)),
    sa.Column("commands", sa.JSON, nullable=False),
    sa.Column("slots", sa.JSON, nullable=False),
    sa.Column("tools", sa.JSON, nullable=False),
    sa.Column("replies", sa.JSON, nullable=False),
    sa.Column("signals", sa.JSON, nullable=False),
    sa.Column("understood_by", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    # What the command generator would have read of the dialogue's state (active flow, the slot
    # asked for, its options): a turn becomes a training example exactly as a model sees it.
    sa.Column("context", sa.JSON),
    sa.Index("ix_turns_conversation", "tenant_id", "conversation_id", "id"),
    sa.Index("ix_turns_created", "tenant_id", "created_at"),
)

# A person's rating of one assistant message; rating again replaces one's own rating.
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("conversation_id", sa.String(100), sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("message_id", sa.Integer, nullable=False),
    sa.Column("turn_id", sa.Integer),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("rating", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(32)),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.UniqueConstraint("tenant_id", "message_id", "user_id"),
)

review_queues = sa.Table(
    "review_queues",
    metadata,
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("signals", sa.JSON, nullable=False),
    sa.Column("sample_rate", sa.Float, nullable=False, server_default="0"),
    sa.Column("packs", sa.JSON, nullable=False),
    sa.Column("assignees", sa.JSON, nullable=False),
    sa.Column("assignee_role", sa.String(64)),
    sa.Column("guideline", sa.Text, nullable=False, server_default=""),
    sa.Column("reviews_needed", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
)

review_items = sa.Table(
    "review_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("queue_id", sa.String(64), nullable=False),
    sa.Column("turn_id", sa.Integer, sa.ForeignKey("turns.id"), nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("lease_holder", sa.String(64)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("done_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("tenant_id", "queue_id", "turn_id"),
    sa.Index("ix_review_items_queue", "tenant_id", "queue_id", "status", "id"),
)

# Every reviewer's answer is kept: no last write wins.
reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("review_items.id"), nullable=False),
    sa.Column("reviewer", sa.String(64), nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("answer", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Index("ix_reviews_item", "tenant_id", "item_id"),
)

# An immutable dataset version: its items (redacted), the query it came from, a content hash.
dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("query", sa.JSON, nullable=False),
    sa.Column("policy_version", sa.String(32), nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    # Conversations deleted since: the version holds records that erasure must reach.
    sa.Column("erased_conversations", sa.JSON, nullable=False),
    sa.UniqueConstraint("tenant_id", "name", "version"),
)

dataset_items = sa.Table(
    "dataset_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("version_id", sa.String(100), sa.ForeignKey("dataset_versions.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("conversation_id", sa.String(100), nullable=False),
    sa.Column("turn_id", sa.Integer, nullable=False),
    sa.Column("item", sa.JSON, nullable=False),
    sa.Index("ix_dataset_items_version", "version_id", "position"),
    sa.Index("ix_dataset_items_conversation", "tenant_id", "conversation_id"),
)

# Who exported what, when, in which format.
dataset_exports = sa.Table(
    "dataset_exports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("version_id", sa.String(100), nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("exported_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
)


# A model trained here: what it was trained from and with, its figures, and whether it serves.
# Promoted per tenant, pack and use: a model learnt from one tenant's conversations serves only it.
model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("pack_id", sa.String(100), nullable=False),
    sa.Column("use", sa.String(32), nullable=False),
    sa.Column("base", sa.String(1000), nullable=False),
    sa.Column("base_sha256", sa.String(64), nullable=False),
    sa.Column("dataset_version", sa.String(100)),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("figures", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("artifact", sa.String(1000), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Index("ix_model_versions_use", "tenant_id", "pack_id", "use", "status"),
)

# Who did what to a model version, when: trained, evaluated, promoted, refused, rolled back.
model_events = sa.Table(
    "model_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("version_id", sa.String(100), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Index("ix_model_events_version", "tenant_id", "version_id", "id"),
)

# A training job: runs as a durable process (or in the CLI), resumes from its last checkpoint.
training_jobs = sa.Table(
    "training_jobs",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("pack_id", sa.String(100), nullable=False),
    sa.Column("use", sa.String(32), nullable=False),
    sa.Column("dataset_version", sa.String(100)),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("step", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("stage", sa.String(32), nullable=False, server_default="queued"),
    sa.Column("version_id", sa.String(100)),
    sa.Column("error", sa.Text),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Index("ix_training_jobs_tenant", "tenant_id", "created_at"),
)

# A conversation handed to a person: waiting in the queue, taken by an agent, then handed back to
# the assistant ("returned"), closed by the agent, or left by the person ("cancelled").
handoffs = sa.Table(
    "handoffs",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("conversation_id", sa.String(100), sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("understood", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("taken_by", sa.String(64)),
    sa.Column("taken_at", sa.DateTime(timezone=True)),
    sa.Column("ended_by", sa.String(64)),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Index("ix_handoffs_queue", "tenant_id", "status", "requested_at"),
    sa.Index("ix_handoffs_conversation", "tenant_id", "conversation_id"),
)
