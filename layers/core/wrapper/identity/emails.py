"""How emails are compared: one rule for the auth API's models, tenant profiles and OIDC sign-ins.

Apart from ``wrapper.identity.models`` so that the authorizer (OIDC links) can fold an email without
loading the auth API's request models.
"""

from __future__ import annotations

import re

# Deliberately plain: one @, no spaces, a dot in the domain. Deliverability is proven by the
# emails we send (invites, resets), not by a regex.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalize_email(value: str) -> str:
    """Emails are unique platform-wide and compared case-insensitively: stored case-folded."""
    folded = value.strip().casefold()
    if len(folded) > 254 or not _EMAIL.fullmatch(folded):
        raise ValueError("not an email address")
    return folded
