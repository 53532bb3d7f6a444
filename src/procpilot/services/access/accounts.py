"""``AccountService``: who the caller is (keys, passwords, sessions) and the tenant's accounts."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from procpilot.domain.access import PLATFORM_ROLES, Permission, Principal
from procpilot.domain.errors import NotAuthenticated, NotFound, StateConflict, TooManyAttempts, UserError
from procpilot.domain.identifiers import check_id
from procpilot.services.access.security import (
    KEY_PREFIX,
    MIN_PASSWORD_LENGTH,
    hash_password,
    new_api_key,
    new_token,
    token_hash,
    verify_password,
)
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.database import Database

LANGUAGES = ("en", "zh")
LOCK_AFTER_FAILURES = 5
LOCK_MINUTES = 15
ROLE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Login:
    """A new session: the cookie's token (shown once), its CSRF token, and who logged in."""

    token: str
    csrf_token: str
    principal: Principal
    expires_at: dt.datetime


def _public_user(row: dict[str, Any], roles: list[str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "username": row["username"],
        "display_name": row["display_name"],
        "language": row["language"],
        "active": bool(row["active"]),
        "roles": roles,
        "has_password": bool(row["password_hash"]),
    }


def _public_key(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "roles": list(row["roles"] or []),
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "last_used_at": row["last_used_at"],
        "revoked": row["revoked_at"] is not None,
    }


def parse_roles(text: str) -> tuple[str, ...]:
    """Roles written as a comma-separated list (forms, the command line)."""
    return tuple(role.strip() for role in text.split(",") if role.strip())


def _check_roles(role_names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    for role in role_names:
        if not ROLE.match(role):
            raise UserError(f"role {role!r}: use lower-case letters, digits, '_' or '-'")
    return tuple(dict.fromkeys(role_names))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


class AccountService:
    """Authentication, and the administration of one tenant's users, roles and keys."""

    def __init__(self, database: Database, operator_tenant: str, session_hours: float = 12.0) -> None:
        self.database = database
        self.operator_tenant = operator_tenant
        self.session_hours = session_hours

    def _principal(self, tenant: str, user: dict[str, Any], roles: list[str], via: str) -> Principal:
        return Principal(
            tenant,
            user["id"],
            tuple(roles),
            name=user["display_name"] or user["username"],
            language=user["language"],
            via=via,
            operator=tenant == self.operator_tenant and "admin" in roles,
        )

    # -- proving who one is ---------------------------------------------------------------

    def authenticate_key(self, key: str) -> Principal:
        if not key.startswith(KEY_PREFIX):
            raise NotAuthenticated("that is not a procpilot API key (they start with 'pp_')")
        with self.database.transaction() as c:
            repo = AccountRepository(c)
            row = repo.key_by_hash(token_hash(key))
            if row is None or row["revoked_at"] is not None:
                raise NotAuthenticated("unknown or revoked API key")
            repo.touch_key(row["id"])
        roles = tuple(row["roles"] or [])
        return Principal(
            row["tenant_id"],
            f"key:{row['id']}",
            roles,
            name=row["name"],
            via="key",
            operator=row["tenant_id"] == self.operator_tenant and "admin" in roles,
        )

    def login(self, tenant: str, username: str, password: str) -> Login:
        now = dt.datetime.now(dt.UTC)
        window = now - dt.timedelta(minutes=LOCK_MINUTES)
        # The attempt is counted and recorded (as a failure) in one transaction before the password
        # is checked, so concurrent attempts cannot all slip under the limit.
        with self.database.transaction() as c:
            repo = AccountRepository(c)
            attempt, before = repo.reserve_attempt(tenant, username, window)
            if before >= LOCK_AFTER_FAILURES:
                repo.drop_attempt(attempt)  # a refused attempt does not extend the lock
                failures = repo.failures_since(tenant, username, window)
            user = repo.user_by_name(tenant, username) if repo.tenant_exists(tenant) else None
        if before >= LOCK_AFTER_FAILURES:
            wait = failures[-LOCK_AFTER_FAILURES] + dt.timedelta(minutes=LOCK_MINUTES) - now
            minutes = max(1, round(wait.total_seconds() / 60))
            raise TooManyAttempts(
                f"too many failed log-ins for {username!r}; try again in {minutes} minute(s)",
                retry_after=max(1, int(wait.total_seconds())),
            )
        failed = user is None or not verify_password(password, user["password_hash"] if user else None)
        if not failed:
            with self.database.transaction() as c:
                repo = AccountRepository(c)
                repo.clear_failures(tenant, username)
                repo.end_expired_sessions()
        if failed or user is None:
            raise NotAuthenticated("wrong tenant, user name or password")
        with self.database.transaction() as c:
            repo = AccountRepository(c)
            if not user["active"]:
                raise NotAuthenticated("this account is disabled; ask an administrator")
            token, csrf = new_token(), new_token()
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=self.session_hours)
            repo.add_session(token_hash(token), tenant, user["id"], csrf, expires)
            roles = repo.roles_of(tenant, user["id"])
        return Login(token, csrf, self._principal(tenant, user, roles, "session"), expires)

    def session(self, token: str) -> tuple[Principal, str]:
        """The principal of a session cookie and its CSRF token."""
        with self.database.transaction() as c:
            repo = AccountRepository(c)
            found = repo.session(token_hash(token))
            user = repo.user(found["tenant_id"], found["user_id"]) if found else None
            if found is None or user is None or not user["active"]:
                raise NotAuthenticated("your session has ended; log in again")
            roles = repo.roles_of(found["tenant_id"], user["id"])
        return self._principal(found["tenant_id"], user, roles, "session"), found["csrf_token"]

    def logout(self, token: str) -> None:
        with self.database.transaction() as c:
            AccountRepository(c).end_session(token_hash(token))

    def set_language(self, principal: Principal, language: str) -> None:
        if language not in LANGUAGES:
            raise UserError(f"language must be one of {', '.join(LANGUAGES)}")
        if principal.via != "session":
            raise UserError("only a person (logged in) has a language")
        with self.database.transaction() as c:
            AccountRepository(c).update_user(principal.tenant, principal.id, language=language)

    # -- tenants --------------------------------------------------------------------------

    def tenants(self, principal: Principal) -> list[dict[str, Any]]:
        """Every tenant for an operator; one's own otherwise."""
        with self.database.transaction() as c:
            return AccountRepository(c).tenants(
                None if principal.can(Permission.OPERATE) else principal.tenant
            )

    def create_tenant(
        self, principal: Principal, tenant_id: str, name: str, admin_username: str, admin_password: str
    ) -> dict[str, Any]:
        """A new tenant with its first admin (who then manages it from inside)."""
        principal.require(Permission.OPERATE, "creating a tenant")
        check_id("tenant", tenant_id)
        _check_password(admin_password)
        with self.database.transaction() as c:
            repo = AccountRepository(c)
            if not repo.ensure_tenant(tenant_id, name):
                raise StateConflict(f"tenant {tenant_id!r} exists")
            repo.ensure_user(
                tenant_id,
                admin_username,
                admin_username,
                role_names=("admin",),
                password_hash=hash_password(admin_password),
            )
            return repo.tenants(tenant_id)[0]

    # -- users and roles ------------------------------------------------------------------

    def users(self, principal: Principal) -> list[dict[str, Any]]:
        principal.require(Permission.ADMINISTER, "listing users")
        with self.database.transaction() as c:
            repo = AccountRepository(c)
            return [
                _public_user(u, repo.roles_of(principal.tenant, u["id"]))
                for u in repo.users(principal.tenant)
            ]

    def user(self, principal: Principal, user_id: str) -> dict[str, Any]:
        if user_id != principal.id:
            principal.require(Permission.ADMINISTER, "reading another user")
        with self.database.transaction() as c:
            repo = AccountRepository(c)
            row = repo.user(principal.tenant, user_id)
            if row is None:
                raise NotFound(f"no user {user_id!r} in this tenant")
            return _public_user(row, repo.roles_of(principal.tenant, user_id))

    def create_user(
        self,
        principal: Principal,
        *,
        username: str,
        password: str | None,
        roles: list[str] | tuple[str, ...] = ("agent_user",),
        user_id: str | None = None,
        display_name: str = "",
        language: str = "en",
    ) -> dict[str, Any]:
        principal.require(Permission.ADMINISTER, "creating users")
        user_id = user_id or username
        check_id("user", username)
        check_id("user", user_id)
        if language not in LANGUAGES:
            raise UserError(f"language must be one of {', '.join(LANGUAGES)}")
        if password is not None:
            _check_password(password)
        with self.database.transaction() as c:
            repo = AccountRepository(c)
            if repo.user(principal.tenant, user_id) or repo.user_by_name(principal.tenant, username):
                raise StateConflict(f"a user {username!r} (id {user_id!r}) exists in this tenant")
            repo.ensure_user(
                principal.tenant,
                user_id,
                username,
                display_name=display_name,
                role_names=_check_roles(roles),
                password_hash=hash_password(password) if password else None,
                language=language,
            )
        return self.user(principal, user_id)

    def update_user(
        self,
        principal: Principal,
        user_id: str,
        *,
        roles: list[str] | tuple[str, ...] | None = None,
        password: str | None = None,
        display_name: str | None = None,
        language: str | None = None,
        active: bool | None = None,
    ) -> dict[str, Any]:
        principal.require(Permission.ADMINISTER, "changing users")
        values: dict[str, Any] = {}
        if password is not None:
            _check_password(password)
            values["password_hash"] = hash_password(password)
        if display_name is not None:
            values["display_name"] = display_name
        if language is not None:
            if language not in LANGUAGES:
                raise UserError(f"language must be one of {', '.join(LANGUAGES)}")
            values["language"] = language
        if active is not None:
            if user_id == principal.id and not active:
                raise UserError("you cannot disable your own account")
            values["active"] = active
        with self.database.transaction() as c:
            repo = AccountRepository(c)
            if repo.user(principal.tenant, user_id) is None:
                raise NotFound(f"no user {user_id!r} in this tenant")
            if values:
                repo.update_user(principal.tenant, user_id, **values)
            if roles is not None:
                if user_id == principal.id and "admin" not in roles:
                    raise UserError("you cannot take the admin role from yourself")
                repo.set_roles(principal.tenant, user_id, _check_roles(roles))
            if password is not None or active is False:
                repo.end_sessions_of(principal.tenant, user_id)
        return self.user(principal, user_id)

    def roles(self, principal: Principal) -> list[dict[str, Any]]:
        """The platform roles and the tenant's business roles, with how many users hold each."""
        principal.require(Permission.ADMINISTER, "listing roles")
        with self.database.transaction() as c:
            held = {r["name"]: r["users"] for r in AccountRepository(c).roles(principal.tenant)}
        platform = [{"name": r, "platform": True, "users": held.pop(r, 0)} for r in PLATFORM_ROLES]
        return platform + [{"name": n, "platform": False, "users": u} for n, u in sorted(held.items())]

    # -- API keys -------------------------------------------------------------------------

    def keys(self, principal: Principal) -> list[dict[str, Any]]:
        principal.require(Permission.ADMINISTER, "listing API keys")
        with self.database.transaction() as c:
            return [_public_key(k) for k in AccountRepository(c).keys(principal.tenant)]

    def create_key(
        self, principal: Principal, name: str, roles: list[str] | tuple[str, ...]
    ) -> dict[str, Any]:
        """A new key; the secret is in the answer once and never again (only its hash is kept)."""
        principal.require(Permission.ADMINISTER, "creating API keys")
        if not name.strip():
            raise UserError("an API key needs a name (what uses it)")
        secret = new_api_key()
        key_id = f"k_{uuid.uuid4().hex[:12]}"
        with self.database.transaction() as c:
            repo = AccountRepository(c)
            repo.add_key(
                id=key_id,
                tenant_id=principal.tenant,
                name=name.strip(),
                key_hash=token_hash(secret),
                roles=list(_check_roles(roles)),
                created_by=principal.id,
            )
            created = next(k for k in repo.keys(principal.tenant) if k["id"] == key_id)
        return {**_public_key(created), "key": secret}

    def revoke_key(self, principal: Principal, key_id: str) -> None:
        principal.require(Permission.ADMINISTER, "revoking API keys")
        with self.database.transaction() as c:
            if not AccountRepository(c).revoke_key(principal.tenant, key_id):
                raise NotFound(f"no active API key {key_id!r} in this tenant")

    # -- set-up ---------------------------------------------------------------------------

    def ensure_account(
        self,
        tenant: str,
        username: str,
        password: str,
        roles: tuple[str, ...],
        *,
        user_id: str | None = None,
        display_name: str = "",
        language: str = "en",
    ) -> bool:
        """Create an account unless it exists (set-up and demos); True when created."""
        _check_password(password)
        with self.database.transaction() as c:
            repo = AccountRepository(c)
            repo.ensure_tenant(tenant)
            if repo.user_by_name(tenant, username):
                return False
            return repo.ensure_user(
                tenant,
                user_id or username,
                username,
                display_name=display_name,
                role_names=_check_roles(roles),
                password_hash=hash_password(password),
                language=language,
            )

    def issue_key(self, tenant: str, name: str, roles: tuple[str, ...]) -> str:
        """A key for a system, made on the server (command line, tests); returns the secret."""
        with self.database.transaction() as c:
            AccountRepository(c).ensure_tenant(tenant)
        system = Principal(tenant, "system", ("admin",), via="system")
        return str(self.create_key(system, name, roles)["key"])
