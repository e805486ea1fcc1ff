"""Claude Code (the CLI) end to end through the gateway: ``claude -p`` with ANTHROPIC_BASE_URL pointing at
the gateway, answered by an OpenAI-shaped channel (converted) and by an Anthropic-shaped one (passed
through). Runs when the CLI is there: ``claude`` on PATH or CLAUDE_CODE_BIN (``npm install
@anthropic-ai/claude-code``); skipped otherwise (it is an npm package, not a Python test dependency)."""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest

from .conftest import REPLY_WORDS, add_channel, add_token, logs, row
from .test_messages_e2e import claude  # noqa: F401 - the fake Anthropic upstream fixture

START = 10**12  # Claude Code asks for max_tokens 32000: the reservation is large

CLI = os.environ.get("CLAUDE_CODE_BIN") or shutil.which("claude")
pytestmark = pytest.mark.skipif(not CLI, reason="Claude Code CLI not installed (set CLAUDE_CODE_BIN)")


async def _ask(gateway: str, key: str, model: str, tmp_path) -> tuple[int, str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "ANTHROPIC_BASE_URL": gateway,
           "ANTHROPIC_API_KEY": f"sk-{key}", "ANTHROPIC_MODEL": model, "ANTHROPIC_SMALL_FAST_MODEL": model,
           "ANTHROPIC_DEFAULT_HAIKU_MODEL": model, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1", "DISABLE_ERROR_REPORTING": "1"}
    proc = await asyncio.create_subprocess_exec(
        CLI, "-p", "Say hello.", "--model", model, "--max-turns", "1", env=env, cwd=str(tmp_path),  # type: ignore[arg-type]
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def _books(runtime, key: str) -> list[dict]:
    entries = await logs(runtime)
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token["remain_quota"] + token["used_quota"] == START
    assert sum(e["quota"] for e in entries) == token["used_quota"]
    return entries


async def test_claude_code_on_an_openai_channel(runtime, gateway, upstream, tmp_path):
    await add_channel(runtime, upstream.url, models="gpt-4o-mini")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    code, out, err = await _ask(gateway, key, "gpt-4o-mini", tmp_path)
    assert code == 0, (out, err)
    assert "".join(REPLY_WORDS) in out
    assert any(s.path == "/v1/chat/completions" for s in upstream.seen)
    assert await _books(runtime, key)


async def test_claude_code_on_an_anthropic_channel(runtime, gateway, claude, tmp_path):  # noqa: F811
    await add_channel(runtime, claude.url, key="claude-key", models="claude-sonnet-4-5", type=14)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    code, out, err = await _ask(gateway, key, "claude-sonnet-4-5", tmp_path)
    assert code == 0, (out, err)
    assert "word0 word1 word2" in out
    sent = [s for s in claude.seen if s.path == "/v1/messages"]
    assert sent and all(s.headers.get("x-api-key") == "claude-key" for s in sent)
    assert await _books(runtime, key)
