"""Ids that name folders and files (tenants, users, packs): one strict pattern, checked in one place.

A letter or digit first, then letters, digits, ``_``, ``.``, ``@`` or ``-``, at most 64, and no
``..``: so ``.``, ``..`` and anything with a slash can never step out of a per-tenant folder.
"""

from __future__ import annotations

import re

from procpilot.domain.errors import UserError

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def check_id(kind: str, value: str) -> str:
    """``value`` when it is a safe id; a UserError that says why otherwise."""
    if not isinstance(value, str) or not SAFE_ID.fullmatch(value) or ".." in value:
        raise UserError(
            f"a {kind} id is 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit "
            f"and without '..'; {str(value)[:70]!r} is not"
        )
    return value
