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


def boundary_of(content_type: str) -> bytes:
    """The boundary of a multipart/form-data Content-Type; a clear 400 when it is not one."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise RelayError(msg("media.not_multipart", content_type=content_type or "-"), status=400,
                         code="invalid_multipart_body")
    boundary = options.get(b"boundary", b"")
    if not boundary:
        raise bad_multipart("no boundary in the Content-Type header")
    return boundary


class FormReader:
    """Reads a multipart body as it arrives (``feed`` chunk by chunk, then ``finish``), keeping only the text
    fields, the file sizes and where each text value lies in the whole body."""

    def __init__(self, content_type: str) -> None:
        self.form = Form(boundary_of(content_type))
        self.offset = 0  # bytes fed so far
        self.ended = False
        self.in_file = False  # inside (or past) a file part
        self._chunk = b""
        self._header = self._value = b""
        self._name = ""
        self._file = self._disposition = False
        self._parts: list[bytes] = []
        self._start = self._end = -1
        self._size = 0
        self._whole = True
        self._parser = MultipartParser(self.form.boundary, {  # type: ignore[arg-type]
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_end": self._on_end})

    def feed(self, chunk: bytes) -> None:
        self._chunk = chunk
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise bad_multipart(str(exc) or type(exc).__name__) from None
        self.offset += len(chunk)

    def finish(self) -> Form:
        try:
            self._parser.finalize()
        except MultipartParseError as exc:
            raise bad_multipart(str(exc) or type(exc).__name__) from None
        if not self.ended:
            raise bad_multipart("the body ends before its closing boundary")
        return self.form

    # -- the parser's callbacks ----------------------------------------------------------------------------
    def _part_begin(self) -> None:
        self._name, self._file, self._disposition = "", False, False
        self._parts, self._start, self._end, self._size, self._whole = [], -1, -1, 0, True

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._header.lower() == b"content-disposition":
            self._name, self._file = _disposition(self._value)
            self._disposition = True
        self._header = self._value = b""

    def _headers_finished(self) -> None:
        if self._file:
            self.in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if self._file:
            return
        if self._size > MAX_FIELD:
            raise bad_multipart(f"the field {self._name!r} is larger than {MAX_FIELD} bytes")
        self._parts.append(data[start:end])
        if data is self._chunk:  # (not the parser's look-behind buffer): offsets into the whole body
            if self._start < 0:
                self._start = self.offset + start
            self._end = self.offset + end
        else:
            self._whole = False  # the value is not one run of the body's bytes: never spliced

    def _part_end(self) -> None:
        name, form = self._name, self.form
        if not self._disposition or not name:
            raise bad_multipart("a part has no Content-Disposition name")
        if self._file:
            form.files.setdefault(name, self._size)
            return
        if name in form.fields:
            return
        value = b"".join(self._parts)
        try:
            form.fields[name] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_multipart(f"the field {name!r} is not UTF-8 text") from None
        if self._whole and self._start >= 0 and self._end - self._start == len(value):
            form.spans[name] = (self._start, self._end)

    def _on_end(self) -> None:
        self.ended = True


def read_form(raw: bytes, content_type: str) -> Form:
    """The text fields and file sizes of a whole multipart body; a clear 400 when it is not one or cannot be
    read."""
    reader = FormReader(content_type)
    reader.feed(raw)
    return reader.finish()


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
