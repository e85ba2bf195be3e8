"""The mailer port's adapter: a plain-text message sent through SES from the configured sender."""

from __future__ import annotations


class SesMailer:
    def send(self, to: str, subject: str, body: str) -> None:
        # Imported on first send: the ports are built by functions that never mail.
        from chalicelib.settings import get_settings
        from chalicelib.store.aws import client

        client("ses").send_email(
            Source=get_settings().mail_sender,
            Destination={"ToAddresses": [to]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
            },
        )
