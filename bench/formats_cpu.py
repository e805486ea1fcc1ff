#!/usr/bin/env python3
"""The gateway's CPU per request for each client format, interleaved: rounds alternate the cases (chat
completions, /v1/messages passed through to the Anthropic channel, /v1/messages converted to the OpenAI
channel) so a busy machine's load weighs on them alike; the relative cost is what it measures.

  python bench/formats_cpu.py [ROUNDS=5] [SECONDS=4] [CONNECTIONS=16]

Same setup as bench/relay.py --format chat,messages (mock upstream on cpu 1, `oneapi serve --api-only` on
cpu 0, SQLite in a temporary data directory); the load is bench/load.py's Python client.
"""
import asyncio, os, shutil, signal, subprocess, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / "bench"))
import relay as R
import load as L

def main(rounds=6, dur=4, conc=16):
    py = sys.executable
    work = Path(tempfile.mkdtemp(prefix="oneapi-ib-"))
    mp, gp = R.free_port(), R.free_port()
    mock, gw = f"http://127.0.0.1:{mp}", f"http://127.0.0.1:{gp}"
    env = {**os.environ, "DATA_DIR": str(work), "PORT": str(gp), "SESSION_SECRET": "b", "PYTHONPATH": str(ROOT)}
    env.pop("SQL_DSN", None); env.pop("REDIS_CONN_STRING", None)
    procs = [subprocess.Popen(R.pinned(1, [py, str(ROOT / "bench/mock_upstream.py"), "--port", str(mp), "--chunks", "20", "--chunk-delay-ms", "10"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        R.wait_http(f"{mock}/health")
        key = asyncio.run(R.prepare(env, mock))
        log = open(work / "gw.log", "wb")
        g = subprocess.Popen(R.pinned(0, [py, "-m", "oneapi_app.cli", "serve", "--api-only", "--host", "127.0.0.1", "--port", str(gp)]), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        procs.append(g)
        R.wait_http(f"{gw}/api/status")
        cases = [("chat", "chat", "gpt-4o-mini"), ("messages", "messages", R.CLAUDE_MODEL), ("msg>openai", "messages", "gpt-4o-mini")]
        res = {(c[0], s): [0.0, 0] for c in cases for s in (False, True)}
        for stream in (False, True):
            for c in cases:  # warm up
                L.measure(gw, conc, 1, 0, c[2], f"sk-{key}", stream, "py", 1, (), c[1])
            for r in range(rounds):
                for label, fmt, model in cases:
                    cpu0 = L.cpu_seconds(g.pid)
                    out = L.measure(gw, conc, dur, 0, model, f"sk-{key}", stream, "py", 1, (), fmt)
                    cpu = L.cpu_seconds(g.pid) - cpu0
                    res[(label, stream)][0] += cpu; res[(label, stream)][1] += out["ok"]
                    assert out["errors"] == 0, out
        print(f"{'case':12s} {'mode':7s} {'requests':>9s} {'gw cpu ms/req':>14s} {'vs chat':>8s}")
        for stream in (False, True):
            base = res[("chat", stream)][0] * 1000 / res[("chat", stream)][1]
            for label, _, _ in cases:
                cpu, n = res[(label, stream)]
                ms = cpu * 1000 / n
                print(f"{label:12s} {'stream' if stream else 'nonstr':7s} {n:>9d} {ms:>14.3f} {ms / base:>8.2f}")
    finally:
        for p in reversed(procs):
            p.terminate(); p.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
