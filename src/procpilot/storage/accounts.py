"""Tenants, users, their roles, API keys and login sessions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from procpilot.domain.identifiers import check_id
from procpilot.storage.database import aware
from procpilot.storage.tables import api_keys, login_failures, roles, sessions, tenants, user_roles, users


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AccountRepository:
    """Tenants are global; users, roles, keys and sessions belong to a tenant."""

    def __init__(self, connection: sa.Connection) -> None:
        self.c = connection

    # -- tenants ---------------------------------------------------------------------------

    def ensure_tenant(self, tenant_id: str, name: str | None = None) -> bool:
        """Create the tenant unless it exists; True when it was created."""
        check_id("tenant", tenant_id, internal=True)
        if self.tenant_exists(tenant_id):
            return False
        self.c.execute(tenants.insert().values(id=tenant_id, name=name or tenant_id))
        return True

    def tenant_ids(self) -> list[str]:
        return [str(t) for t in self.c.execute(sa.select(tenants.c.id).order_by(tenants.c.id)).scalars()]

    def tenants(self, only: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(tenants).order_by(tenants.c.id)
        if only is not None:
            query = query.where(tenants.c.id == only)
        return [dict(r) for r in self.c.execute(query).mappings()]

    def tenant_exists(self, tenant_id: str) -> bool:
        return self.c.execute(sa.select(tenants.c.id).where(tenants.c.id == tenant_id)).scalar() is not None

    # -- users -----------------------------------------------------------------------------

    def ensure_user(
        self,
        tenant_id: str,
        user_id: str,
        username: str,
        *,
        display_name: str = "",
        role_names: tuple[str, ...] = (),
        password_hash: str | None = None,
        language: str = "en",
    ) -> bool:
        """Create the user unless one with this id exists, and give them the roles; True if created."""
        created = self.user(tenant_id, user_id) is None
        if created:
            self.c.execute(
                users.insert().values(
                    id=user_id,
                    tenant_id=tenant_id,
                    username=username,
                    display_name=display_name,
                    password_hash=password_hash,
                    language=language,
                    attributes={},
                )
            )
        for role in role_names:
            self.grant(tenant_id, user_id, role)
        return created

    def user(self, tenant_id: str, user_id: str) -> dict[str, Any] | None:
        row = (
            self.c.execute(sa.select(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def user_by_name(self, tenant_id: str, username: str) -> dict[str, Any] | None:
        row = (
            self.c.execute(
                sa.select(users).where(users.c.tenant_id == tenant_id, users.c.username == username)
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def users(self, tenant_id: str) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(users).where(users.c.tenant_id == tenant_id).order_by(users.c.username)
        ).mappings()
        return [dict(r) for r in rows]

    def update_user(self, tenant_id: str, user_id: str, **values: Any) -> None:
        self.c.execute(
            users.update().where(users.c.tenant_id == tenant_id, users.c.id == user_id).values(**values)
        )

    def grant(self, tenant_id: str, user_id: str, role: str) -> None:
        if not self.c.execute(
            sa.select(roles.c.name).where(roles.c.tenant_id == tenant_id, roles.c.name == role)
        ).scalar():
            self.c.execute(roles.insert().values(tenant_id=tenant_id, name=role))
        if role not in self.roles_of(tenant_id, user_id):
            self.c.execute(user_roles.insert().values(tenant_id=tenant_id, user_id=user_id, role=role))

    def set_roles(self, tenant_id: str, user_id: str, role_names: tuple[str, ...]) -> None:
        self.c.execute(
            user_roles.delete().where(user_roles.c.tenant_id == tenant_id, user_roles.c.user_id == user_id)
        )
        for role in role_names:
            self.grant(tenant_id, user_id, role)

    def roles_of(self, tenant_id: str, user_id: str) -> list[str]:
        rows = self.c.execute(
            sa.select(user_roles.c.role).where(
                user_roles.c.tenant_id == tenant_id, user_roles.c.user_id == user_id
            )
        ).scalars()
        return sorted(rows)

    def roles(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's roles with how many users hold each."""
        held = (
            sa.select(user_roles.c.role, sa.func.count().label("users"))
            .where(user_roles.c.tenant_id == tenant_id)
            .group_by(user_roles.c.role)
            .subquery()
        )
        rows = self.c.execute(
            sa.select(roles.c.name, roles.c.description, sa.func.coalesce(held.c.users, 0).label("users"))
            .select_from(roles.outerjoin(held, held.c.role == roles.c.name))
            .where(roles.c.tenant_id == tenant_id)
            .order_by(roles.c.name)
        ).mappings()
        return [dict(r) for r in rows]

    # -- API keys --------------------------------------------------------------------------

    def add_key(self, **values: Any) -> None:
        self.c.execute(api_keys.insert().values(**values))

    def key_by_hash(self, key_hash: str) -> dict[str, Any] | None:
        row = self.c.execute(sa.select(api_keys).where(api_keys.c.key_hash == key_hash)).mappings().first()
        return dict(row) if row else None

    def keys(self, tenant_id: str) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(api_keys).where(api_keys.c.tenant_id == tenant_id).order_by(api_keys.c.created_at)
        ).mappings()
        return [dict(r) for r in rows]

    def touch_key(self, key_id: str) -> None:
        self.c.execute(api_keys.update().where(api_keys.c.id == key_id).values(last_used_at=_now()))

    def revoke_key(self, tenant_id: str, key_id: str) -> bool:
        result = self.c.execute(
            api_keys.update()
            .where(
                api_keys.c.tenant_id == tenant_id, api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)
            )
            .values(revoked_at=_now())
        )
        return result.rowcount == 1

    # -- sessions --------------------------------------------------------------------------

    def add_session(
        self, token_hash: str, tenant_id: str, user_id: str, csrf_token: str, expires_at: dt.datetime
    ) -> None:
        self.c.execute(
            sessions.insert().values(
                token_hash=token_hash,
                tenant_id=tenant_id,
                user_id=user_id,
                csrf_token=csrf_token,
                expires_at=expires_at,
            )
        )

    def session(self, token_hash: str) -> dict[str, Any] | None:
        row = (
            self.c.execute(sa.select(sessions).where(sessions.c.token_hash == token_hash)).mappings().first()
        )
        if row is None:
            return None
        found = dict(row)
        if aware(found["expires_at"]) <= _now():
            self.c.execute(sessions.delete().where(sessions.c.token_hash == token_hash))
            return None
        return found

    def end_session(self, token_hash: str) -> None:
        self.c.execute(sessions.delete().where(sessions.c.token_hash == token_hash))

    def end_sessions_of(self, tenant_id: str, user_id: str) -> None:
        self.c.execute(
            sessions.delete().where(sessions.c.tenant_id == tenant_id, sessions.c.user_id == user_id)
        )

    def end_expired_sessions(self) -> None:
        self.c.execute(sessions.delete().where(sessions.c.expires_at <= _now()))

    # -- failed log-ins --------------------------------------------------------------------

    def failures_since(self, tenant_id: str, username: str, since: dt.datetime) -> list[dt.datetime]:
        rows = self.c.execute(
            sa.select(login_failures.c.failed_at).where(
                login_failures.c.tenant_id == tenant_id,
                login_failures.c.username == username,
                login_failures.c.failed_at > since,
            )
        ).scalars()
        return sorted(aware(r) for r in rows)

    def reserve_attempt(self, tenant_id: str, username: str, since: dt.datetime) -> tuple[int, int]:
        """Record a log-in attempt as a failure before its password is checked, and count the
        failures before it since ``since``: (its row id, how many came before). Attempts at one
        account are serialised (SQLite's write lock; an advisory lock on PostgreSQL), so forty at
        once are counted one after another and never all see "fewer than five"."""
        if self.c.dialect.name == "postgresql":
            self.c.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"login:{len(tenant_id)}:{tenant_id}:{username}"},
            )
        inserted = self.c.execute(
            login_failures.insert().values(tenant_id=tenant_id, username=username, failed_at=_now())
        ).inserted_primary_key
        assert inserted is not None
        row_id = inserted[0]
        before = self.c.execute(
            sa.select(sa.func.count()).where(
                login_failures.c.tenant_id == tenant_id,
                login_failures.c.username == username,
                login_failures.c.failed_at > since,
                login_failures.c.id != row_id,
            )
        ).scalar_one()
        return int(row_id), int(before)

    def drop_attempt(self, row_id: int) -> None:
        self.c.execute(login_failures.delete().where(login_failures.c.id == row_id))

    def add_failure(self, tenant_id: str, username: str) -> None:
        self.c.execute(
            login_failures.insert().values(tenant_id=tenant_id, username=username, failed_at=_now())
        )

    def clear_failures(self, tenant_id: str, username: str) -> None:
        self.c.execute(
            login_failures.delete().where(
                login_failures.c.tenant_id == tenant_id, login_failures.c.username == username
            )
        )
