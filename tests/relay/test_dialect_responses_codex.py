"""Codex (OpenAI's coding agent CLI) end to end: ``codex exec`` streams /v1/responses with its function tools
through the real gateway to a chat-completions-only channel (converted) and to an OpenAI channel (passed
through), runs the shell command the fake model asks for, sends its output back and finishes; the books
balance.

Needs the codex binary: CODEX_BIN, or ``codex`` on PATH (``npm install @openai/codex`` ships it); skipped
without it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from .conftest import add_channel, add_customer, books_balance

CODEX = os.environ.get("CODEX_BIN") or shutil.which("codex")
pytestmark = pytest.mark.skipif(not CODEX, reason="codex not installed (set CODEX_BIN or put codex on PATH)")
START = 5_000_000


@pytest.mark.parametrize("channel_type", [36, 1], ids=["converted", "pass-through"])
async def test_codex_runs_a_tool_through_the_gateway(runtime, gateway, provider, tmp_path: Path, channel_type):
    await add_channel(runtime, provider.url, type=channel_type, key="agent", models="gpt-4o-mini")
    user_id, token = await add_customer(runtime, START)
    work, home = tmp_path / "work", tmp_path / "codex-home"
    work.mkdir()
    home.mkdir()
    provider_config = (f'model_providers.oneapi={{name="One API",base_url="{gateway}/v1",env_key="ONEAPI_KEY",'
                       f'wire_api="responses"}}')
    env = {**os.environ, "CODEX_HOME": str(home), "ONEAPI_KEY": f"sk-{token}", "HOME": str(tmp_path),
           "RUST_LOG": "error"}
    assert CODEX is not None
    proc = await asyncio.create_subprocess_exec(
        CODEX, "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
        "-c", provider_config, "-c", "model_provider=oneapi", "-c", "model=gpt-4o-mini",
        "Write proof.txt", cwd=work, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    report = (out + err).decode(errors="replace")[-3000:]
    assert proc.returncode == 0, report
    assert "All done: proof.txt written." in report
    assert (work / "proof.txt").read_text().strip() == "codex-was-here"
    if channel_type == 36:  # converted: chat completions with the tool result as a tool message
        turns = [s.json for s in provider.seen if s.path == "/v1/chat/completions"]
        assert any(m.get("role") == "tool" and m.get("tool_call_id") == "call_sh" for m in turns[-1]["messages"])
    else:  # passed through: Codex's own Responses body, its function_call_output included
        turns = [s.json for s in provider.seen if s.path == "/v1/responses"]
        assert any(i.get("type") == "function_call_output" and i.get("call_id") == "call_sh"
                   for i in turns[-1]["input"])
    assert len(turns) >= 2 and all(t["stream"] is True for t in turns)
    assert len(await books_balance(runtime, user_id, START)) == len(turns)
