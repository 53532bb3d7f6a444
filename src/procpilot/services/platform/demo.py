"""Demo accounts for ``make demo``: an admin, an approver and an employee of the workplace pack.

The ids of the workplace people are their employee numbers, so the pack knows them: Olga Okafor
(e015) works in Sales, whose head Eva Engel (e005) approves her claims; Clara Costa (e003) heads
Finance and approves claims above 500.
"""

from __future__ import annotations

from procpilot.services.access.accounts import AccountService

DEMO_PASSWORD = "procpilot-demo"
ADMIN_PASSWORD = "procpilot-admin"
DEMO_ACCOUNTS = (
    # username, password, id, display name, roles, what to try
    ("admin", ADMIN_PASSWORD, "admin", "Administrator", ("admin",), "users, keys, tenants, every process"),
    (
        "eva",
        DEMO_PASSWORD,
        "e005",
        "Eva Engel",
        ("approver", "agent_user"),
        "approves Olga's claims and leave",
    ),
    ("olga", DEMO_PASSWORD, "e015", "Olga Okafor", ("agent_user",), "an employee: claims, leave, access"),
    (
        "clara",
        DEMO_PASSWORD,
        "e003",
        "Clara Costa",
        ("approver", "agent_user", "finance"),
        "finance: claims above 500",
    ),
)


def ensure_demo_accounts(accounts: AccountService, tenant: str) -> list[str]:
    """Create the demo accounts that are missing; returns a line per account to print."""
    lines = []
    for username, password, user_id, name, roles, what in DEMO_ACCOUNTS:
        accounts.ensure_account(tenant, username, password, roles, user_id=user_id, display_name=name)
        lines.append(f"{username:6} / {password:16} {name} ({', '.join(roles)}): {what}")
    return lines
