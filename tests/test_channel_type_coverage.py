"""Every channel type one-api defines (ids 0..51) is served: an OpenAI-family row of the catalogue (the
OpenAI adaptor serves it), a provider adaptor of its family, or a type explicitly marked retired (its
adaptor answers a clear error). A type with none of these fails here.

``KNOWN_UNSERVED`` lists the types whose adaptor is work in progress by another helper; it may only
shrink: a listed type that becomes served fails the test until its line is removed."""

from __future__ import annotations

from oneapi_app.catalog.channel_types import CHANNEL_TYPES, channel_type
from oneapi_app.relay.adaptors import adaptor_for

ONE_API_TYPES = range(52)
KNOWN_UNSERVED: set[int] = {43}  # Proxy: no adaptor yet


def _served(type_id: int) -> bool:
    kind = channel_type(type_id)
    adaptor = adaptor_for(type_id)
    if kind.family == "openai":
        return adaptor is not None and adaptor.family == "openai"
    return adaptor is not None and (adaptor.family == kind.family or kind.retired)


def test_every_type_has_a_row():
    assert set(ONE_API_TYPES) <= set(CHANNEL_TYPES)


def test_every_type_is_served_or_retired():
    unserved = {t for t in ONE_API_TYPES if not _served(t)}
    assert unserved <= KNOWN_UNSERVED, f"channel types with neither an OpenAI-family row nor an adaptor: {unserved}"
    assert KNOWN_UNSERVED <= unserved, f"now served, remove from KNOWN_UNSERVED: {KNOWN_UNSERVED - unserved}"


def test_retired_types_have_an_adaptor_that_refuses():
    import pytest

    from oneapi_app.errors import UpstreamFailure
    from oneapi_app.relay.adaptors.base import Call, Target

    retired = [t for t in ONE_API_TYPES if channel_type(t).retired]
    assert retired == [11]  # PaLM2
    for type_id in retired:
        adaptor = adaptor_for(type_id)
        assert adaptor is not None
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        with pytest.raises(UpstreamFailure) as caught:
            adaptor.build_request(Target(type_id, "", "k"), Call("chat", "/v1/chat/completions", "m", body, b"{}",
                                                                 False, False))
        assert not caught.value.retryable
