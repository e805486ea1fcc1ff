"""Notices to the root user (channel disabled/enabled, slow channel): the Message Pusher webhook when
configured, and an email to root's address when SMTP is configured (one-api sends only one of the two; an
operator who set up both gets both). Failures are logged, never raised."""

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
    """Send a notice to the Message Pusher webhook (when MessagePusherAddress is set) and by email to root
    (when root has an address and SMTP is configured); True when at least one got it. Its text (often an
    upstream's words) is scrubbed of secret-shaped strings first."""
    title, content = scrub_text(title), scrub_text(content)
    pushed = await _push(runtime, title, content) if runtime.options.MessagePusherAddress else False
    mailed = await _mail_root(runtime, title, content)
    if not (pushed or mailed):
        log.info("notice not delivered (no Message Pusher, root email or SMTP server): %s: %s", title, content)
    return pushed or mailed


async def _push(runtime, title: str, content: str) -> bool:
    options = runtime.options
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


async def _mail_root(runtime, title: str, content: str) -> bool:
    options = runtime.options
    if not options.SMTPServer:
        return False
    async with runtime.db.session() as session:
        root = (await session.exec(select(User).where(User.role == Role.ROOT, User.status == UserStatus.ENABLED)
                                   .order_by(col(User.id)))).first()
    if root is None or not root.email:
        return False
    try:
        await send_email(options, root.email, title, f"<p>{html.escape(content)}</p>")
        return True
    except MailError as exc:
        log.warning("could not email the notice %r: %s", title, exc.message)
        return False
