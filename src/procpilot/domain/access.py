"""Who may do what: the platform's roles, their permissions, and the caller of a use case.

A person or system acts as a ``Principal``: one tenant, an id, and roles. Platform roles grant
permissions (below); any other role a person holds (``finance``, ``staff``...) is a business role
that packs use (an approval's ``role``, a flow's ``allowed_roles``, a document's access label).
Services check permissions; routes only turn credentials into a principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from procpilot.domain.errors import PermissionDenied


class Permission(StrEnum):
    CONVERSE = "converse"  # talk to an assistant, start and cancel one's own processes
    APPROVE = "approve"  # decide approval tasks assigned to oneself or one's roles
    READ_ALL = "read_all"  # read every conversation, instance and approval of the tenant
    DESIGN = "design"  # validate and reload packs, manage knowledge documents
    ADMINISTER = "administer"  # users, roles, API keys of the tenant
    OPERATE = "operate"  # tenants: create and list them (admins of the operator tenant)
    REVIEW = "review"  # review queues: take items, correct them, label them
    CURATE = "curate"  # review queues set up; datasets built, compared, exported and deleted
    MODELS = "models"  # training jobs started; model versions evaluated, promoted and rolled back
    ASSIST = "assist"  # the human agent's desk: take handed-off conversations, reply, hand back


# The platform's roles. "agent_user" is the "agent user": someone who talks to the assistant.
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(
        {
            Permission.CONVERSE,
            Permission.APPROVE,
            Permission.READ_ALL,
            Permission.DESIGN,
            Permission.ADMINISTER,
            Permission.REVIEW,
            Permission.CURATE,
            Permission.MODELS,
            Permission.ASSIST,
        }
    ),
    "designer": frozenset({Permission.CONVERSE, Permission.DESIGN}),
    "approver": frozenset({Permission.CONVERSE, Permission.APPROVE}),
    "agent_user": frozenset({Permission.CONVERSE}),
    "auditor": frozenset({Permission.READ_ALL}),
    # Conversations are the organisation's most sensitive data: reviewing them and exporting
    # them are roles of their own.
    "reviewer": frozenset({Permission.REVIEW}),
    "data_steward": frozenset({Permission.CURATE}),
    # Which model answers people is a decision of its own, recorded with who made it.
    "model_steward": frozenset({Permission.MODELS}),
    # A person of the organisation who answers the conversations the assistant hands over.
    "agent": frozenset({Permission.CONVERSE, Permission.ASSIST}),
}
PLATFORM_ROLES = tuple(ROLE_PERMISSIONS)


@dataclass(frozen=True)
class Principal:
    """The caller of a use case. ``via``: how they proved it ("session", "key", "system")."""

    tenant: str
    id: str
    roles: tuple[str, ...] = ()
    name: str = ""
    language: str = "en"
    via: str = "system"
    operator: bool = False  # an admin of the operator (default) tenant: may manage tenants

    @property
    def permissions(self) -> frozenset[Permission]:
        granted: set[Permission] = set()
        for role in self.roles:
            granted |= ROLE_PERMISSIONS.get(role, frozenset())
        if self.operator:
            granted.add(Permission.OPERATE)
        return frozenset(granted)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission, doing: str) -> None:
        """Raise ``PermissionDenied`` with a message that says which role would allow it."""
        if self.can(permission):
            return
        if permission is Permission.OPERATE:
            raise PermissionDenied(f"{doing} needs an admin of the operator tenant")
        allowed = sorted(role for role, granted in ROLE_PERMISSIONS.items() if permission in granted)
        raise PermissionDenied(f"{doing} needs one of the roles {', '.join(allowed)}")


def system_principal(tenant: str) -> Principal:
    """Procpilot itself (workers, schedules, the command line on the server)."""
    return Principal(tenant, "system", ("admin",), name="procpilot", via="system")
