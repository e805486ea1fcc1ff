"""Notices to the root user (channel disabled/enabled, slow channel): MessagePusher when configured, else an
email to root's address. Failures are logged, never raised (one-api fails silently; we at least log)."""

from __future__ import annotations

import html
import logging

import httpx
from sqlmodel import col, select

from ..errors import MailError
from ..models import Role, User, UserStatus
from ..scrub import scrub_text
from .mail import send_email

log = logging.getLogger(__name__)


async def notify_root(runtime, title: str, content: str) -> bool:
    """Send a notice; its text (often an upstream's words) is scrubbed of secret-shaped strings first."""
    title, content = scrub_text(title), scrub_text(content)
    options = runtime.options
    if options.MessagePusherAddress:
        try:
            reply = await runtime.http.post(options.MessagePusherAddress, json={
                "title": title, "description": content, "content": content, "token": options.MessagePusherToken},
                timeout=10)
            data = reply.json()
            if isinstance(data, dict) and data.get("success"):
                return True
            log.warning("MessagePusher refused the notice %r: %s", title, data)
        except (httpx.HTTPError, ValueError, UnicodeError) as exc:
            log.warning("MessagePusher unreachable for the notice %r: %s", title, exc)
        return False
    async with runtime.db.session() as session:
        root = (await session.exec(select(User).where(User.role == Role.ROOT, User.status == UserStatus.ENABLED)
                                   .order_by(col(User.id)))).first()
    if root is None or not root.email or not options.SMTPServer:
        log.info("notice not sent (no MessagePusher, no root email or no SMTP server): %s: %s", title, content)
        return False
    try:
        await send_email(options, root.email, title, f"<p>{html.escape(content)}</p>")
        return True
    except MailError as exc:
        log.warning("could not email the notice %r: %s", title, exc.message)
        return False
