"""Test helpers for the cloud adaptors (AWS Bedrock, Vertex AI), written from the providers' public specs and
independent of the code under test:

- ``event_message``: one AWS event-stream message (prelude, string headers, payload, both CRC32s), built by
  hand per the spec (application/vnd.amazon.eventstream);
- ``sigv4_signature`` / ``verify_sigv4``: AWS Signature Version 4 recomputed with hashlib/hmac alone (checked
  against AWS's published ``get-vanilla`` test vector), so a fake Bedrock verifies what actually reached it;
- ``service_account``: a throw-away RSA service account (Google's JSON key shape) and ``verify_jwt``, which
  checks an RS256 assertion against its public key with ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from urllib.parse import quote

import orjson


# -- AWS event stream -----------------------------------------------------------------------------------
def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += struct.pack(">B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + encoded + payload
    return message + struct.pack(">I", binascii.crc32(message))


def event(kind: str, data: dict) -> bytes:
    """A ConverseStream event message (AWS pads events with a ``p`` field: kept here too)."""
    return event_message({":event-type": kind, ":content-type": "application/json", ":message-type": "event"},
                         orjson.dumps({**data, "p": "abcdefgh"}))


def chunk(anthropic_event: dict) -> bytes:
    """An invoke-with-response-stream ``chunk``: one Anthropic stream event, base64 in ``bytes``."""
    encoded = base64.b64encode(orjson.dumps(anthropic_event)).decode()
    return event("chunk", {"bytes": encoded})


def exception(kind: str, message: str) -> bytes:
    return event_message({":exception-type": kind, ":content-type": "application/json",
                          ":message-type": "exception"}, orjson.dumps({"message": message}))


# -- SigV4 ----------------------------------------------------------------------------------------------
def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_signature(method: str, raw_path: str, query: str, headers: dict[str, str], signed: list[str],
                    body: bytes, amz_date: str, secret: str, region: str, service: str) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    canonical_query = "&".join(sorted(q for q in query.split("&") if q))
    canonical_headers = "".join(f"{h}:{' '.join(lowered[h].split())}\n" for h in signed)
    canonical = "\n".join([method, quote(raw_path, safe="/~"), canonical_query, canonical_headers, ";".join(signed),
                           hashlib.sha256(body).hexdigest()])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret).encode(), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def verify_sigv4(method: str, raw_path: str, headers: dict[str, str], body: bytes, access_key: str, secret: str,
                 region: str, service: str = "bedrock") -> str:
    """'' when the request's Authorization is a valid SigV4 signature of it, else what is wrong."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no SigV4 Authorization header"
    fields = dict(part.strip().split("=", 1) for part in auth.removeprefix("AWS4-HMAC-SHA256 ").split(","))
    amz_date = headers.get("X-Amz-Date", "")
    if fields.get("Credential") != f"{access_key}/{amz_date[:8]}/{region}/{service}/aws4_request":
        return f"wrong credential scope {fields.get('Credential')}"
    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    path, _, query = raw_path.partition("?")
    expected = sigv4_signature(method, path, query, headers, signed, body, amz_date, secret, region, service)
    return "" if hmac.compare_digest(expected, fields.get("Signature", "")) else "signature mismatch"


# -- Google service account -----------------------------------------------------------------------------
def service_account(token_uri: str, project: str = "test-project") -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": project, "private_key_id": "test-key-1", "private_key": pem,
            "client_email": f"relay@{project}.iam.gserviceaccount.com", "client_id": "1234567890",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
            "universe_domain": "googleapis.com"}


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify_jwt(assertion: str, info: dict) -> dict:
    """The claims of an RS256 JWT signed by the service account ``info`` (raises when the signature is bad)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    header, claims, signature = assertion.split(".")
    if orjson.loads(_b64(header)).get("alg") != "RS256":
        raise ValueError("not RS256")
    private = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    private.public_key().verify(_b64(signature), f"{header}.{claims}".encode(),  # type: ignore[union-attr,call-arg]
                                padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg]
    return orjson.loads(_b64(claims))
