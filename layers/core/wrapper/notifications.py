"""The notifications port: the emails Wrapper sends (invites, password resets).

Emails carry secrets (one-time tokens), so they are sent straight from the function that
mints the token and never pass through the event backbone or the audit log. On AWS they go
through Amazon SES v2 from the template's sender identity; locally moto's SES keeps every
message, and the local cloud shows them at ``GET /_local/emails`` on the API port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str


class Notifier(Protocol):
    def send(self, email: Email) -> None: ...


class SesNotifier:
    def __init__(self, sesv2_client: Any, *, sender: str) -> None:
        self.client = sesv2_client
        self.sender = sender

    def send(self, email: Email) -> None:
        self.client.send_email(
            FromEmailAddress=self.sender,
            Destination={"ToAddresses": [email.to]},
            Content={"Simple": {"Subject": {"Data": email.subject, "Charset": "UTF-8"},
                                "Body": {"Text": {"Data": email.text, "Charset": "UTF-8"}}}},
        )
