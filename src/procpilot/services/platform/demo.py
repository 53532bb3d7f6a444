"""Demo accounts for ``make demo``: an admin, approvers, an employee of the workplace pack and a
reviewer; and a review queue.

The ids of the workplace people are their employee numbers, so the pack knows them: Olga Okafor
(e015) works in Sales, whose head Eva Engel (e005) approves her claims; Clara Costa (e003) heads
Finance and approves claims above 500.
"""

from __future__ import annotations

from procpilot.domain.access import system_principal
from procpilot.services.access.accounts import AccountService
from procpilot.services.data.reviews import ReviewService

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
    (
        "rita",
        DEMO_PASSWORD,
        "rita",
        "Rita Reviewer",
        ("reviewer", "data_steward", "model_steward"),
        "reviews rated-down replies at /review, builds datasets at /datasets, trains models at /models",
    ),
    (
        "sam",
        DEMO_PASSWORD,
        "sam",
        "Sam Support",
        ("agent",),
        "a human agent: takes conversations handed to a person at /desk",
    ),
)


def ensure_demo_queue(reviews: ReviewService, tenant: str) -> None:
    """A review queue for the demo: replies rated down, and turns the assistant was unsure of."""
    reviews.save_queue(
        system_principal(tenant),
        "needs-a-look",
        name="Replies rated down, and turns the assistant was unsure of",
        signals=["thumbs_down", "low_confidence", "clarification", "out_of_scope", "tool_error"],
        guideline="Check what the assistant understood; correct the intent, the slots and the reply.",
    )


def ensure_demo_accounts(accounts: AccountService, tenant: str) -> list[str]:
    """Create the demo accounts that are missing; returns a line per account to print."""
    lines = []
    for username, password, user_id, name, roles, what in DEMO_ACCOUNTS:
        accounts.ensure_account(tenant, username, password, roles, user_id=user_id, display_name=name)
        lines.append(f"{username:6} / {password:16} {name} ({', '.join(roles)}): {what}")
    return lines
