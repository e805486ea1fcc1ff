"""The server's HTTP protocol (oneapi_app/http_protocol.py): a response's head goes out with its body in one
write, a head alone goes out at the end of the loop's pass, and a stream's body chunks can be written from a
callback exactly as uvicorn's ``send`` writes them."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn

from oneapi_app.http_protocol import HeadJoiningTransport, Protocol, body_writer


class Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 1) if name == "peername" else default


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


async def test_a_head_is_joined_to_its_body():
    raw = Recorder()
    transport = HeadJoiningTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(HEAD)
    assert raw.writes == []
    transport.write(b"ok")
    assert raw.writes == [HEAD + b"ok"]
    await asyncio.sleep(0)  # the pass's flush has nothing left to write
    transport.write(b"more")  # not a head: as it comes
    assert raw.writes == [HEAD + b"ok", b"more"]


async def test_a_head_alone_goes_out_at_the_end_of_the_pass():
    raw = Recorder()
    transport = HeadJoiningTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    transport.write(HEAD)
    transport.close()  # a held head is written before the close
    assert raw.writes[-1] == HEAD and raw.closed
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)  # the rest is the transport's own


async def test_nothing_is_written_to_a_closing_transport():
    raw = Recorder()
    transport = HeadJoiningTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    raw.closing = True
    transport.write(HEAD)
    await asyncio.sleep(0)
    assert raw.writes == [HEAD]  # written through (the transport decides), never held


def test_body_writer_is_only_for_the_servers_own_send():
    async def send(message):  # another server's, or a middleware's wrapper
        pass

    assert body_writer(send) is None


@pytest.fixture
async def served():
    """A tiny app on uvicorn with this protocol: a plain answer and a chunked one written by body_writer."""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/plain":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        write = body_writer(send)
        assert write is not None
        assert write(b"one,") and write(b"two,")
        await send({"type": "http.response.body", "body": b"three", "more_body": False})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", http=Protocol))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield sock.getsockname()[1]
    server.should_exit = True
    await task
    sock.close()


async def request(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode())
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data


async def test_answers_on_a_real_server(served):
    plain = await request(served, "/plain")
    assert plain.startswith(b"HTTP/1.1 200 OK\r\n") and plain.endswith(b"\r\n\r\nok")
    chunked = await request(served, "/chunked")
    assert b"transfer-encoding: chunked" in chunked
    assert chunked.endswith(b"\r\n\r\n4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n")
