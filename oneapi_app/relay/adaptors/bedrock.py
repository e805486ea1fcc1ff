"""The AWS Bedrock adaptor: channel type 33 ("AwsClaude"), family ``bedrock``.

Credentials: the channel config's ``ak``, ``sk`` and ``region`` (one-api's names), else the key
``AK|SK|Region`` (what one-api's editor stores as the key). Temporary credentials (STS, SSO, an assumed role)
add their session token: the config's ``session_token``, or a 4th key part ``AK|SK|Region|SessionToken``; it
is sent as ``X-Amz-Security-Token``, covered by the signature. Every request is signed with AWS Signature
Version 4 (botocore's SigV4Auth, service ``bedrock``; imported on the first Bedrock request, never at start).
The base URL is ``https://bedrock-runtime.{region}.amazonaws.com`` unless the channel sets one (a VPC
endpoint or a proxy: the signature covers the host it names).

Models: Claude (the Anthropic names, mapped to Bedrock ids as one-api does, e.g.
``claude-3-5-sonnet-20240620`` -> ``anthropic.claude-3-5-sonnet-20240620-v1:0``, or any ``anthropic.*`` id or
inference profile) goes to ``/model/{id}/invoke`` (``/invoke-with-response-stream``) with the Messages body
(bedrock_claude.py) and comes back through the Anthropic adaptor's answer and event conversion. Every other
model (Llama, Mistral, Nova, Cohere, DeepSeek: a Bedrock model id, or one-api's llama3 names) goes through the
Converse API (``/converse``, ``/converse-stream``; bedrock_converse.py, which also serves ``response_format``:
json_schema through a forced tool whose input is the answer's JSON text, json_object through a system
instruction). Streams are AWS binary event streams (bedrock_stream.py). Only chat is served: other kinds get
a retryable 501.
"""

from __future__ import annotations

import base64
import binascii
from typing import NamedTuple
from urllib.parse import quote

import orjson

from ...catalog.prices_cloud import BEDROCK_CLAUDE_IDS, BEDROCK_OTHER_IDS
from ...errors import UpstreamFailure
from ...i18n import msg
from ..events import Answer, Event, EventDecoder
from ..upstream import UpstreamRequest
from .anthropic import AnthropicAdaptor
from .base import Call, Target, load_object, not_supported
from .bedrock_claude import BEDROCK_VERSION, claude_body
from .bedrock_converse import ConverseDecoder, convert_request, parse_answer
from .bedrock_stream import EventStreamReader, map_error, split_frame, stream_failure
from .response_format import response_tool

SERVICE = "bedrock"  # Bedrock Runtime's SigV4 signing name
_ANTHROPIC = AnthropicAdaptor()


class AwsCredentials(NamedTuple):
    access_key: str
    secret_key: str
    region: str
    session_token: str = ""  # temporary credentials only (STS / SSO)


def credentials(target: Target) -> AwsCredentials:
    """A channel's AWS credentials (config fields first, then the key's parts), or a clear error when it has
    none. The session token is the config's ``session_token``, else the key's 4th part when the key names the
    access key in use (a token belongs to its access key)."""
    config = target.config if isinstance(target.config, dict) else {}
    ak, sk, region, token = (str(config.get(k) or "").strip() for k in ("ak", "sk", "region", "session_token"))
    parts = [p.strip() for p in (target.key or "").split("|")]
    if len(parts) in (3, 4) and all(parts[:3]):
        if not (ak and sk and region):
            ak, sk, region = ak or parts[0], sk or parts[1], region or parts[2]
        if not token and len(parts) == 4 and parts[0] == ak:
            token = parts[3]
    if not (ak and sk and region):
        raise UpstreamFailure(msg("relay.bedrock_no_credentials"), status=500, retryable=True,
                              code="channel_config_invalid", type="one_api_error")
    return AwsCredentials(ak, sk, region, token)


def model_id(model: str) -> str:
    """The Bedrock model id of a model name: one-api's Anthropic and llama3 names map, ids pass as they are."""
    return BEDROCK_CLAUDE_IDS.get(model) or BEDROCK_OTHER_IDS.get(model) or model


def is_claude(model_id: str) -> bool:
    return "anthropic.claude" in model_id


def base_url(target: Target, region: str) -> str:
    return (target.base_url or f"https://bedrock-runtime.{region}.amazonaws.com").rstrip("/")


def sign(method: str, url: str, body: bytes, headers: dict[str, str], ak: str, sk: str, region: str,
         service: str = SERVICE, session_token: str = "") -> dict:
    """``headers`` plus X-Amz-Date and the SigV4 Authorization for this exact URL and body (and, with a
    session token, X-Amz-Security-Token, which botocore adds before signing: the signature covers it)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method, url, data=body, headers=headers)
    SigV4Auth(Credentials(ak, sk, session_token or None), service, region).add_auth(request)
    return dict(request.headers.items())


class ClaudeChunkDecoder:
    """invoke-with-response-stream frames (``chunk`` events whose ``bytes`` are one Anthropic stream event,
    base64) -> the Anthropic adaptor's decoder; exception messages -> StreamError."""

    def __init__(self, inner: EventDecoder) -> None:
        self.inner = inner

    def feed(self, frame: bytes) -> list[Event]:
        from ..events import StreamError

        tag, data = split_frame(frame)
        if tag.startswith("!"):
            return [StreamError(stream_failure(tag[1:], data))]
        encoded = data.get("bytes")
        if tag != "chunk" or not isinstance(encoded, str):
            return []
        try:
            payload = base64.b64decode(encoded)
        except (binascii.Error, ValueError):
            return []
        return self.inner.feed(payload)

    def finish(self) -> list[Event]:
        return self.inner.finish()


class BedrockAdaptor:
    name = "bedrock"
    family = "bedrock"

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        if call.kind != "chat":
            raise not_supported(msg("relay.cloud_chat_only", provider="AWS Bedrock", kind=call.kind))
        aws = credentials(target)
        resolved = model_id(call.model)
        if is_claude(resolved):
            body = claude_body(call.body, call.model, BEDROCK_VERSION, stream=False)
            action = "invoke-with-response-stream" if call.stream else "invoke"
        else:
            body = convert_request(call.body, resolved)
            action = "converse-stream" if call.stream else "converse"
        # ":" stays as it is (as aiohttp sends it); "/" of an ARN is escaped. The signature covers this path.
        url = f"{base_url(target, aws.region)}/model/{quote(resolved, safe=':')}/{action}"
        data = orjson.dumps(body)
        accept = "application/vnd.amazon.eventstream" if call.stream else "application/json"
        headers = sign("POST", url, data, {"Content-Type": "application/json", "Accept": accept}, aws.access_key,
                       aws.secret_key, aws.region, session_token=aws.session_token)
        return UpstreamRequest("POST", url, headers, data)

    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        if is_claude(model_id(call.model)):
            return _ANTHROPIC.parse_answer(call, body, content_type)
        return parse_answer(load_object(body), call.model, response_tool(call.body))

    def decoder(self, call: Call) -> EventDecoder:
        if is_claude(model_id(call.model)):
            return ClaudeChunkDecoder(_ANTHROPIC.decoder(call))
        return ConverseDecoder(call.model, response_tool(call.body))

    def frame_reader(self) -> EventStreamReader:
        return EventStreamReader()

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        return map_error(status, body)
