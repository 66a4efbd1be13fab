"""E-mail over SMTP (smtplib), settings from RELAYFLOW_SMTP_* (see engine/delivery/channels/settings.py).

The dedupe key travels as the Message-ID and as ``X-Relayflow-Dedupe-Key``.
"""
from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from engine.delivery.channels.base import DeliveryFailed
from engine.delivery.channels.message import OutboundMessage
from engine.delivery.channels.settings import ChannelSettings


class EmailChannel:
    name = "email"

    def __init__(self, settings: ChannelSettings) -> None:
        self.smtp = settings.smtp

    def build(self, message: OutboundMessage) -> EmailMessage:
        to = message.email_to
        if not to:
            who = message.person.name if message.person else "the recipient"
            raise DeliveryFailed(f"{who} has no e-mail address", permanent=True)
        mail = EmailMessage()
        mail["From"] = self.smtp.sender
        mail["To"] = to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        digest = hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:32]
        mail["Message-ID"] = f"<{digest}@relayflow>"
        mail["X-Relayflow-Dedupe-Key"] = message.dedupe_key
        mail.set_content(message.body)
        for a in message.attachments:  # multipart/mixed: the text, then each file
            maintype, _, subtype = a.mime.partition("/")
            mail.add_attachment(a.content, maintype=maintype, subtype=subtype, filename=a.filename)
        return mail

    def send(self, message: OutboundMessage) -> str:
        mail = self.build(message)
        if not self.smtp.host:
            raise DeliveryFailed("e-mail is not configured (RELAYFLOW_SMTP_HOST)", permanent=True)
        try:
            with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.smtp.timeout) as client:
                if self.smtp.starttls:
                    client.starttls()
                if self.smtp.user:
                    client.login(self.smtp.user, self.smtp.password or "")
                refused = client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"recipient refused: {exc.recipients}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP: {exc}") from None
        if refused:
            raise DeliveryFailed(f"recipient refused: {refused}", permanent=True)
        return f"mailed to {mail['To']}"
