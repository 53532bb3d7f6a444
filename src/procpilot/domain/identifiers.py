"""Ids that name folders and files (tenants, users, packs): one strict pattern, checked in one place.

A letter or digit first, then letters, digits, ``_``, ``.``, ``@`` or ``-``, at most 64, and no
``..``: so ``.``, ``..`` and anything with a slash can never step out of a per-tenant folder. Ids
procpilot makes for itself start with ``_`` (``_pack``, the tenant of a pack's own documents), so
no one can create one of those.
"""

from __future__ import annotations

import re

from procpilot.domain.errors import UserError

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
INTERNAL_ID = re.compile(r"^_[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$")


def check_id(kind: str, value: str, *, internal: bool = False) -> str:
    """``value`` when it is a safe id (``internal``: or one of procpilot's own, ``_pack``); a
    UserError that says why otherwise."""
    ok = isinstance(value, str) and (
        SAFE_ID.fullmatch(value) is not None or (internal and INTERNAL_ID.fullmatch(value) is not None)
    )
    if not ok or ".." in value:
        raise UserError(
            f"a {kind} id is 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit "
            f"and without '..'; {str(value)[:70]!r} is not"
        )
    return value
