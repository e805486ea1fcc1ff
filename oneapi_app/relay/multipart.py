"""multipart/form-data bodies of the media endpoints (image edits, transcriptions, translations), read without
being re-encoded: the relay needs a few text fields (``model``, ``response_format``, ``prompt``...) and to
know the files are there, and forwards the client's bytes unchanged.

``read_form`` parses the body once (python-multipart's streaming parser, no copy of the files) and records
where each text field's value lies in the body, so a mapped model name is spliced into the same bytes
(``with_field``) instead of rebuilding the body.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from ..errors import RelayError
from ..i18n import msg

MAX_FIELD = 1024 * 1024  # bytes of one text field kept (a longer one is refused: no prompt is that long)


@dataclass(slots=True)
class Form:
    boundary: bytes
    fields: dict[str, str] = field(default_factory=dict)  # text fields, the first value of each name
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # where each field's value lies in the body
    files: dict[str, int] = field(default_factory=dict)  # file fields: name -> size in bytes


def bad_multipart(detail: str) -> RelayError:
    return RelayError(msg("media.bad_multipart", detail=detail), status=400, code="invalid_multipart_body")


def _disposition(value: bytes) -> tuple[str, bool]:
    """(name, is a file) from a Content-Disposition header value."""
    _kind, options = parse_options_header(value)
    name = options.get(b"name", b"").decode("utf-8", "replace")
    return name, b"filename" in options


def read_form(raw: bytes, content_type: str) -> Form:
    """The text fields and file sizes of a multipart body; a clear 400 when it is not one or cannot be read."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise RelayError(msg("media.not_multipart", content_type=content_type or "-"), status=400,
                         code="invalid_multipart_body")
    boundary = options.get(b"boundary", b"")
    if not boundary:
        raise bad_multipart("no boundary in the Content-Type header")
    form = Form(boundary)
    state: dict = {"header": b"", "value": b"", "name": "", "file": False, "parts": [], "start": -1, "end": -1,
                   "size": 0, "ended": False, "disposition": False}

    def on_part_begin() -> None:
        state.update(name="", file=False, parts=[], start=-1, end=-1, size=0, disposition=False)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        if state["header"].lower() == b"content-disposition":
            state["name"], state["file"] = _disposition(state["value"])
            state["disposition"] = True
        state["header"] = state["value"] = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["size"] += end - start
        if state["file"]:
            return
        if state["size"] > MAX_FIELD:
            raise bad_multipart(f"the field {state['name']!r} is larger than {MAX_FIELD} bytes")
        state["parts"].append(data[start:end])
        if data is raw:
            state["start"] = start if state["start"] < 0 else state["start"]
            state["end"] = end

    def on_part_end() -> None:
        name = state["name"]
        if not state["disposition"] or not name:
            raise bad_multipart("a part has no Content-Disposition name")
        if state["file"]:
            form.files.setdefault(name, state["size"])
            return
        if name in form.fields:
            return
        value = b"".join(state["parts"])
        try:
            form.fields[name] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_multipart(f"the field {name!r} is not UTF-8 text") from None
        span = (state["start"], state["end"])
        if span[0] >= 0 and raw[span[0]:span[1]] == value:
            form.spans[name] = span

    def on_end() -> None:
        state["ended"] = True

    parser = MultipartParser(boundary, {  # type: ignore[arg-type]
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data, "on_part_end": on_part_end,
        "on_end": on_end})
    try:
        parser.write(raw)
        parser.finalize()
    except MultipartParseError as exc:
        raise bad_multipart(str(exc) or type(exc).__name__) from None
    if not state["ended"]:
        raise bad_multipart("the body ends before its closing boundary")
    return form


def with_field(raw: bytes, form: Form, name: str, value: str) -> bytes:
    """The body with the text field ``name`` set to ``value``: its bytes replaced in place, or a part added
    before the closing boundary when the client did not send it. Everything else stays byte for byte."""
    data = value.encode()
    span = form.spans.get(name)
    if span is not None:
        return raw[:span[0]] + data + raw[span[1]:]
    if name in form.fields:  # sent empty (no bytes to replace): left as it came
        return raw
    closing = raw.rfind(b"--" + form.boundary + b"--")
    if closing < 0:
        return raw
    part = (b"--" + form.boundary + b'\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n'
            + data + b"\r\n")
    return raw[:closing] + part + raw[closing:]
