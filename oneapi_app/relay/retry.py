"""Channel choice and the retry policy.

Known or not: a model that no enabled or auto-disabled channel of the group lists is unknown (404); a known
model without a usable channel is a 503 (``no_channel``), which clients may retry.

Choice: among the enabled abilities of (group, model), the highest priority tier that still has a channel
not tried yet, then weighted random by channel weight (weight 0 counts as 1). Retrying therefore walks the
top tier first and lower tiers after it is exhausted (one-api's first retry stays in the top tier).

Retry: while nothing reached the client, a failure that says "this channel" rather than "this request"
(429, 5xx, network, a refused key) is tried again on another channel, up to RetryTimes times.
"""

from __future__ import annotations

import random

from ..errors import ModelNotFound, NoChannel, UpstreamFailure
from ..i18n import msg
from ..services.cache import ChannelInfo, ChannelSnapshot

SATURATED_MESSAGE = msg("relay.saturated")


def choose_channel(snapshot: ChannelSnapshot, group: str, model: str, exclude: set[int],
                   rng: random.Random | None = None) -> ChannelInfo | None:
    tiers = snapshot.routes.get((group, model))
    if not tiers:
        return None
    for _priority, ids in tiers:
        candidates = [snapshot.channels[i] for i in ids if i not in exclude and i in snapshot.channels]
        if not candidates:
            continue
        if len(candidates) == 1:
            return candidates[0]
        weights = [c.weight or 1 for c in candidates]
        return (rng or random).choices(candidates, weights=weights, k=1)[0]
    return None


def pinned_channel(snapshot: ChannelSnapshot, channel_id: int) -> ChannelInfo:
    channel = snapshot.channels.get(channel_id)
    if channel is None:
        raise NoChannel(msg("relay.bad_channel_id"), 400)
    if channel.status != 1:
        raise NoChannel(msg("relay.channel_disabled"), 403)
    return channel


def first_channel(snapshot: ChannelSnapshot, group: str, model: str, pinned: int | None) -> ChannelInfo:
    """The request's first channel: the one its key pins (``sk-...-<id>``, admins), else a choice among the
    group's channels of the model; 503 ``no_channel`` when none is usable."""
    if pinned is not None:
        return pinned_channel(snapshot, pinned)
    chosen = choose_channel(snapshot, group, model, set())
    if chosen is None:
        raise no_channel(group, model)
    return chosen


def check_model_known(snapshot: ChannelSnapshot, group: str, model: str) -> None:
    """404 for a model no enabled or auto-disabled channel of the group lists (a typo, a model the gateway
    does not serve): SDKs retry a 503, never a 404. A known model whose channels are all down stays a 503
    (``no_channel``)."""
    if not snapshot.knows(group, model):
        raise ModelNotFound(model, group)


def no_channel(group: str, model: str) -> NoChannel:
    return NoChannel(msg("relay.no_channel", group=group, model=model))


# The channel's key was refused (401 invalid key, 403 no access to the model or account disabled): the request
# itself may well succeed on another channel of the group, as one-api retries it.
KEY_REFUSED = frozenset({401, 403})


def channel_fault(failure: UpstreamFailure) -> bool:
    """The failure counts against the channel (its health, ENABLE_METRIC's failure rate), not the request."""
    return failure.retryable or failure.status in KEY_REFUSED


def should_retry(failure: UpstreamFailure, attempts_left: int, pinned: bool) -> bool:
    """Another channel is tried for 429, 5xx, network failures (``retryable``) and a refused key (401/403)."""
    return channel_fault(failure) and attempts_left > 0 and not pinned
