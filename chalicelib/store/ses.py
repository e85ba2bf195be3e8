"""The mailer port's adapter: a message (plain text, and HTML when given) sent through SES from the
configured sender."""

from __future__ import annotations


class SesMailer:
    def send(self, to: str, subject: str, body: str, html: str | None = None) -> None:
        # Imported on first send: the ports are built by functions that never mail.
        from chalicelib.settings import get_settings
        from chalicelib.store.aws import client

        client("ses").send_email(
            Source=get_settings().mail_sender,
            Destination={"ToAddresses": [to]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": body, "Charset": "UTF-8"},
                    **({"Html": {"Data": html, "Charset": "UTF-8"}} if html is not None else {}),
                },
            },
        )
