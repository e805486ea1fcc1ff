"""Outgoing mail through the SMTP* options: STARTTLS on 587 (or any port but 465), implicit TLS on 465,
login only when an account or token is set. smtplib runs in a worker thread."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ..errors import MailError
from ..i18n import msg
from .options import Options


def _send_sync(options: Options, to: str, subject: str, html: str, tls_context: ssl.SSLContext | None) -> None:
    sender = options.SMTPFrom or options.SMTPAccount
    msg = EmailMessage()
    msg["From"] = f"{options.SystemName} <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=(sender.rpartition("@")[2] or "localhost"))
    msg.set_content("This message is HTML; open it in a mail client that shows HTML.")
    msg.add_alternative(html, subtype="html")
    context = tls_context or ssl.create_default_context()
    port = options.SMTPPort or 587
    if port == 465:
        client: smtplib.SMTP = smtplib.SMTP_SSL(options.SMTPServer, port, timeout=30, context=context)
    else:
        client = smtplib.SMTP(options.SMTPServer, port, timeout=30)
    with client:
        client.ehlo()
        if port != 465 and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if options.SMTPAccount or options.SMTPToken:
            client.login(options.SMTPAccount, options.SMTPToken)
        client.send_message(msg, from_addr=sender, to_addrs=[to])


async def send_email(options: Options, to: str, subject: str, html: str,
                     *, tls_context: ssl.SSLContext | None = None) -> None:
    if not options.SMTPServer:
        raise MailError(msg("mail.no_server"))
    if not (options.SMTPFrom or options.SMTPAccount):
        raise MailError(msg("mail.no_sender"))
    try:
        await asyncio.to_thread(_send_sync, options, to, subject, html, tls_context)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(msg("mail.send_failed", detail=exc)) from None
