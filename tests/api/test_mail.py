"""Email verification and password reset against a real local SMTP server (aiosmtpd)."""

import asyncio
import re
import ssl
import uuid
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from redis.asyncio import Redis

from oneapi_app.services import mail
from oneapi_app.services.options import Options
from oneapi_app.services.verification import EMAIL_VERIFICATION, CodeStore
from tests.local_server import free_port, smtp_server  # noqa: F401 -- free_port: re-exported (dashboard signup test)

from .conftest import ROOT, set_option


class Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"

    def html(self, index: int = -1) -> str:
        return self.messages[index][1].get_body(("html",)).get_content()


@pytest.fixture
def smtp():
    inbox = Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port


async def configure_smtp(client, port: int) -> None:
    await set_option(client, "SMTPServer", "127.0.0.1")
    await set_option(client, "SMTPPort", str(port))
    await set_option(client, "SMTPFrom", "noreply@oneapi.test")


async def test_email_verification_code_by_smtp_then_register(client, smtp):
    inbox, port = smtp
    await configure_smtp(client, port)
    await set_option(client, "EmailVerificationEnabled", "true")
    r = await client.get("/api/verification", params={"email": "bob@example.com"})
    assert r.json()["success"], r.json()
    rcpt, message = inbox.messages[-1]
    assert rcpt == ["bob@example.com"] and "邮箱验证" in message["Subject"]
    code = re.search(r"<strong>([0-9a-f]{6})</strong>", inbox.html()).group(1)
    body = {"username": "bob", "password": "bobpassword", "email": "bob@example.com"}
    r = await client.post("/api/user/register", json=body | {"verification_code": "000000" if code != "000000" else "1"})
    assert r.json() == {"success": False, "message": "验证码错误或已过期"}
    r = await client.post("/api/user/register", json=body | {"verification_code": code})
    assert r.json()["success"], r.json()
    # Single use.
    r = await client.post("/api/user/register", json=body | {"username": "bob2", "verification_code": code})
    assert not r.json()["success"]
    # The address is now taken.
    r = await client.get("/api/verification", params={"email": "bob@example.com"})
    assert r.json() == {"success": False, "message": "邮箱地址已被占用"}


async def test_email_domain_whitelist(client, smtp):
    inbox, port = smtp
    await configure_smtp(client, port)
    await set_option(client, "EmailDomainWhitelist", "example.org")
    await set_option(client, "EmailDomainRestrictionEnabled", "true")
    r = await client.get("/api/verification", params={"email": "bob@example.com"})
    assert not r.json()["success"] and "白名单" in r.json()["message"]
    assert (await client.get("/api/verification", params={"email": "bob@example.org"})).json()["success"]
    assert not (await client.get("/api/verification", params={"email": "not-an-email"})).json()["success"]
    assert len(inbox.messages) == 1


async def test_password_reset_link(client, smtp, common):
    inbox, port = smtp
    await configure_smtp(client, port)
    await set_option(client, "ServerAddress", "https://gw.example.com")
    r = await client.get("/api/reset_password", params={"email": "nobody@example.com"})
    assert r.json() == {"success": False, "message": "该邮箱地址未注册"}
    assert (await client.get("/api/reset_password", params={"email": "alice@example.com"})).json()["success"]
    link = re.search(r"https://gw\.example\.com/user/reset\?email=([^&]+)&amp;token=([0-9a-f]{32})|"
                     r"https://gw\.example\.com/user/reset\?email=([^&]+)&token=([0-9a-f]{32})", inbox.html())
    token = link.group(2) or link.group(4)
    r = await client.post("/api/user/reset", json={"email": "alice@example.com", "token": "f" * 32})
    assert not r.json()["success"]
    r = await client.post("/api/user/reset", json={"email": "alice@example.com", "token": token})
    password = r.json()["data"]
    assert r.json()["success"] and re.fullmatch(r"[0-9a-f]{12}", password)
    r = await client.post("/api/user/login", json={"username": "alice", "password": password})
    assert r.json()["success"]
    r = await client.post("/api/user/reset", json={"email": "alice@example.com", "token": token})
    assert not r.json()["success"]  # used


async def test_smtp_failure_is_a_clear_message(client):
    await set_option(client, "SMTPServer", "127.0.0.1")
    await set_option(client, "SMTPPort", "1")
    await set_option(client, "SMTPFrom", "noreply@oneapi.test")
    r = await client.get("/api/verification", params={"email": "bob@example.com"})
    assert r.status_code == 200 and not r.json()["success"] and "发送邮件失败" in r.json()["message"]


async def test_starttls_is_used_when_offered(tmp_path):
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    import ipaddress
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(datetime.now(UTC) - timedelta(days=1))
            .not_valid_after(datetime.now(UTC) + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client_ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    inbox = Inbox()
    with smtp_server(inbox, tls_context=server_ctx, require_starttls=True) as port:
        options = Options(SMTPServer="127.0.0.1", SMTPPort=port, SMTPFrom="noreply@oneapi.test")
        await mail.send_email(options, "bob@example.com", "hello", "<p>hi</p>", tls_context=client_ctx)
    assert inbox.messages and inbox.messages[0][1]["Subject"] == "hello"


@pytest.mark.parametrize("backend", ["database", "redis"])
async def test_codes_are_shared_and_expire(runtime, backend):
    redis = Redis.from_url("redis://127.0.0.1:6379/13") if backend == "redis" else None
    try:
        store = CodeStore(runtime.db, redis)
        other_node = CodeStore(runtime.db, redis)
        subject = f"{uuid.uuid4().hex}@example.com"
        await store.put(EMAIL_VERIFICATION, subject, "abc123")
        assert not await other_node.check(EMAIL_VERIFICATION, subject, "abc124")
        assert await other_node.check(EMAIL_VERIFICATION, subject, "ABC123", consume=False)
        results = await asyncio.gather(*[other_node.check(EMAIL_VERIFICATION, subject, "abc123") for _ in range(5)])
        assert sum(results) == 1
        if backend == "redis":
            # Redis enforces the expiry itself: the key carries the TTL.
            await store.put(EMAIL_VERIFICATION, subject, "abc123")
            assert 0 < await redis.ttl(f"verification:email:{subject}") <= 600
            await redis.delete(f"verification:email:{subject}")
        else:
            await store.put(EMAIL_VERIFICATION, subject, "abc123", ttl=-1)  # already expired
        assert not await other_node.check(EMAIL_VERIFICATION, subject, "abc123")
    finally:
        if redis is not None:
            await redis.aclose()


async def test_verification_rows_are_not_options(client, smtp):
    _inbox, port = smtp
    await configure_smtp(client, port)
    assert (await client.get("/api/verification", params={"email": "bob@example.com"})).json()["success"]
    keys = [o["key"] for o in (await client.get("/api/option/", headers=ROOT)).json()["data"]]
    assert not any(k.startswith("verification:") for k in keys) and "SMTPServer" in keys
    assert "SMTPToken" not in keys and "TurnstileSecretKey" not in keys and "GitHubClientSecret" not in keys


async def test_bind_email_with_a_code(client, smtp, common):
    inbox, port = smtp
    await configure_smtp(client, port)
    assert (await client.get("/api/verification", params={"email": "alice2@example.com"})).json()["success"]
    code = re.search(r"<strong>([0-9a-f]{6})</strong>", inbox.html()).group(1)
    r = await client.get("/api/oauth/email/bind", params={"email": "alice2@example.com", "code": "zzzzzz"},
                         headers=common.headers)
    assert not r.json()["success"]
    r = await client.get("/api/oauth/email/bind", params={"email": "alice2@example.com", "code": code},
                         headers=common.headers)
    assert r.json()["success"]
    me = (await client.get("/api/user/self", headers=common.headers)).json()["data"]
    assert me["email"] == "alice2@example.com"


async def test_root_notices_by_message_pusher_or_email(client, runtime, smtp, monkeypatch):
    import json

    import httpx

    from oneapi_app.services.notify import notify_root

    inbox, port = smtp
    assert not await notify_root(runtime, "t", "no way to send")  # no pusher, no root email: logged only
    await configure_smtp(client, port)
    async with runtime.db.session() as s:
        from oneapi_app.models import User

        root = await s.get(User, 1)
        root.email = "root@example.com"
        s.add(root)
        await s.commit()
    assert await notify_root(runtime, "渠道状态变更提醒", "渠道 #3 已被禁用 <b>")
    rcpt, message = inbox.messages[-1]
    assert rcpt == ["root@example.com"] and message["Subject"] == "渠道状态变更提醒"
    assert "&lt;b&gt;" in inbox.html()
    seen = []

    def pusher(request):
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"success": True, "message": ""})

    monkeypatch.setattr(runtime, "_http", httpx.AsyncClient(transport=httpx.MockTransport(pusher)))
    await set_option(client, "MessagePusherAddress", "https://push.test/push/root")
    await set_option(client, "MessagePusherToken", "push-token")
    assert await notify_root(runtime, "title", "body")
    assert seen == [{"title": "title", "description": "body", "content": "body", "token": "push-token"}]
    assert len(inbox.messages) == 2  # both configured: the webhook and the mail both get it
