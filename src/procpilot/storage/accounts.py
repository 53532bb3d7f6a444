"""Tenants, users and their roles."""

from __future__ import annotations

import sqlalchemy as sa

from procpilot.storage.tables import roles, tenants, user_roles, users


class AccountRepository:
    """Tenants are global; users and roles are scoped to a tenant."""

    def __init__(self, connection: sa.Connection) -> None:
        self.c = connection

    def ensure_tenant(self, tenant_id: str, name: str | None = None) -> None:
        exists = self.c.execute(sa.select(tenants.c.id).where(tenants.c.id == tenant_id)).scalar()
        if not exists:
            self.c.execute(tenants.insert().values(id=tenant_id, name=name or tenant_id))

    def tenant_ids(self) -> list[str]:
        return [str(t) for t in self.c.execute(sa.select(tenants.c.id).order_by(tenants.c.id)).scalars()]

    def tenant_exists(self, tenant_id: str) -> bool:
        return self.c.execute(sa.select(tenants.c.id).where(tenants.c.id == tenant_id)).scalar() is not None

    def ensure_user(
        self,
        tenant_id: str,
        user_id: str,
        username: str,
        *,
        display_name: str = "",
        role_names: tuple[str, ...] = (),
    ) -> None:
        exists = self.c.execute(
            sa.select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.id == user_id)
        ).scalar()
        if not exists:
            self.c.execute(
                users.insert().values(
                    id=user_id,
                    tenant_id=tenant_id,
                    username=username,
                    display_name=display_name,
                    attributes={},
                )
            )
        for role in role_names:
            has_role = self.c.execute(
                sa.select(roles.c.name).where(roles.c.tenant_id == tenant_id, roles.c.name == role)
            ).scalar()
            if not has_role:
                self.c.execute(roles.insert().values(tenant_id=tenant_id, name=role))
            linked = self.c.execute(
                sa.select(user_roles.c.role).where(
                    user_roles.c.tenant_id == tenant_id,
                    user_roles.c.user_id == user_id,
                    user_roles.c.role == role,
                )
            ).scalar()
            if not linked:
                self.c.execute(user_roles.insert().values(tenant_id=tenant_id, user_id=user_id, role=role))

    def roles_of(self, tenant_id: str, user_id: str) -> list[str]:
        rows = self.c.execute(
            sa.select(user_roles.c.role).where(
                user_roles.c.tenant_id == tenant_id, user_roles.c.user_id == user_id
            )
        ).scalars()
        return sorted(rows)
