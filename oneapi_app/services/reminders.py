"""The low-quota reminder (QuotaRemindThreshold): a user whose quota falls below the threshold gets one email
per crossing -- not one per request. The marker "reminded" is set when the mail goes out (across nodes:
oneapi_app/locks.py ``claim``) and cleared once the quota is back at or above the threshold (a top-up), so
the next fall below it mails again.

Checked after each settlement batch the ledger commits (at most every 200 ms, one query for the batch's
users, off the request path), never per request. The marker is written only on a transition this process
sees (first sight of a user, a fall below, a rise above), not for every settlement.
"""

from __future__ import annotations

import html
import logging

from sqlalchemy import select

from ..errors import MailError
from ..i18n import t
from ..models import User, table_of
from .mail import send_email

log = logging.getLogger(__name__)
MARKER_TTL = 90 * 24 * 3600  # seconds a "reminded" marker lives without a top-up
RETRY_AFTER = 600  # seconds before a reminder that could not be mailed is tried again


class QuotaReminder:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self._pending: set[int] = set()
        self._running = False
        self._below: dict[int, bool] = {}  # user id -> below the threshold when last seen (bounds the writes)

    def settled(self, user_ids: set[int]) -> None:
        """The ledger committed settlements of these users (a listener of the settlement writer)."""
        options = self.runtime.options
        if options.QuotaRemindThreshold <= 0 or not options.SMTPServer or not user_ids:
            return
        self._pending |= user_ids
        if not self._running and not self.runtime.background.closing:
            self._running = True
            self.runtime.background.spawn(self._drain(), name="quota-reminders")

    async def _drain(self) -> None:
        try:
            while self._pending:
                users, self._pending = self._pending, set()
                try:
                    await self.check(users)
                except Exception:
                    log.exception("checking the low-quota reminders of %d users failed", len(users))
        finally:
            self._running = False

    async def check(self, user_ids: set[int]) -> int:
        """Mail the users of ``user_ids`` now below the threshold and not reminded yet; returns the mails sent."""
        options = self.runtime.options
        threshold = options.QuotaRemindThreshold
        u = table_of(User).c
        async with self.runtime.db.engine.connect() as conn:
            rows = (await conn.execute(select(u.id, u.quota, u.email).where(u.id.in_(sorted(user_ids))))).all()
        locks = self.runtime.locks
        below = self._below
        if len(below) > 100_000:
            below.clear()
        sent = 0
        for user_id, quota, email in rows:
            marker = f"quota-remind:{user_id}"
            was_below = below.get(user_id)
            below[user_id] = quota < threshold
            if quota >= threshold:
                if was_below is not False:  # first seen here, or back above: the next fall mails again
                    await locks.drop(marker)
                continue
            if was_below or not email or not await locks.claim(marker, MARKER_TTL):
                continue  # already below when last seen: handled then (mailed here or by another node)
            body = f"<p>{html.escape(t('mail.quota_low_body', quota=quota, threshold=threshold))}</p>"
            if options.TopUpLink:
                link = html.escape(options.TopUpLink, quote=True)
                anchor = f'<a href="{link}">{link}</a>'
                body += f"<p>{t('mail.quota_low_link', link=anchor)}</p>"
            try:
                await send_email(options, email, t("mail.quota_low_subject", system=options.SystemName), body)
                sent += 1
            except MailError as exc:  # not reminded after all: retried by a settlement after RETRY_AFTER
                await locks.drop(marker)
                await locks.claim(marker, RETRY_AFTER)
                below.pop(user_id, None)
                log.warning("could not send the low-quota reminder to user %s: %s", user_id, exc.message)
        return sent
