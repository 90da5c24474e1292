"""Receiving an uploaded file: streamed to disk chunk by chunk, never held in memory, with the
size limit enforced while it arrives — shared by raster uploads and layer imports.

A client's file name is kept only as text (to suggest an id, to name the file in messages);
the bytes land in a temporary file the server names, in ``settings.upload_dir``, and whoever
receives it deletes it (``discard``) whatever happens.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from onemap.config import Settings

MAX_FIELD_BYTES = 64 * 1024
#: Content types of a raw GeoTIFF body (no type at all is taken as one too, as curl sends it).
RAW_TYPES = (b"image/tiff", b"image/geotiff", b"application/octet-stream", b"")


class UploadError(Exception):
    """A refused upload: HTTP status, error code and the reason in words."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def error_response(exc: UploadError) -> JSONResponse:
    return JSONResponse({"code": exc.code, "detail": exc.detail}, status_code=exc.status)


class Staged:
    """The file part of an upload, written straight to disk, and the other form fields."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".tif")
        self.path = Path(name)
        self.file = open(fd, "wb")  # noqa: SIM115 - closed in finish()/discard()
        self.fields: dict[str, str] = {}
        self.filename = ""
        self.size = 0
        self.got_file = False

    def finish(self) -> None:
        self.file.close()

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


class _FormSink:
    """Callbacks of python-multipart's streaming parser: file bytes go to disk as they come."""

    def __init__(self, staged: Staged) -> None:
        self.staged = staged
        self.headers: dict[bytes, bytes] = {}
        self.field, self.value = b"", b""
        self.name: str | None = None
        self.is_file = False
        self.buffer = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self.part_begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
                "on_part_end": self.part_end}

    def part_begin(self) -> None:
        self.headers, self.field, self.value, self.buffer = {}, b"", b"", bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.field.lower()] = self.value
        self.field, self.value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        self.is_file = b"filename" in options
        if self.is_file:
            if self.name != "file" or self.staged.got_file:
                raise UploadError(400, "InvalidParameter", "send exactly one file, in the "
                                  "form field 'file'")
            self.staged.got_file = True
            self.staged.filename = options[b"filename"].decode("utf-8", "replace")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.is_file:
            self.staged.file.write(data[start:end])
        else:
            self.buffer += data[start:end]
            if len(self.buffer) > MAX_FIELD_BYTES:
                raise UploadError(400, "InvalidParameter", f"form field {self.name!r} is too "
                                  "long")

    def part_end(self) -> None:
        if not self.is_file and self.name:
            self.staged.fields[self.name] = self.buffer.decode("utf-8", "replace").strip()


async def receive(request: Request, settings: Settings, *, raw: bool = True,
                  what: str = "the GeoTIFF") -> Staged:
    """Stream the request body to disk: a multipart form, or (``raw``) the file itself as the
    body. ``what`` names the expected file in messages."""
    limit = settings.max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MAX_FIELD_BYTES:
        raise UploadError(413, "PayloadTooLarge", f"the upload is {int(declared):,} bytes; this "
                          f"server accepts at most {settings.max_upload_mb} MB "
                          "(ONEMAP_MAX_UPLOAD_MB)")
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    staged = Staged(settings.upload_dir)
    try:
        parser = None
        if ctype == b"multipart/form-data":
            if b"boundary" not in options:
                raise UploadError(400, "InvalidParameter", "multipart upload without a boundary")
            parser = MultipartParser(options[b"boundary"], _FormSink(staged).callbacks())
        elif raw and ctype in RAW_TYPES:
            staged.got_file = True
            staged.filename = request.query_params.get("filename", "")
        else:
            raise UploadError(415, "UnsupportedMediaType", f"cannot read a {ctype.decode()!r} "
                              f"upload: send multipart/form-data with {what} in the field "
                              "'file'" + (f", or {what} itself as image/tiff" if raw else ""))
        async for chunk in request.stream():
            staged.size += len(chunk)
            if staged.size > limit + MAX_FIELD_BYTES:
                raise UploadError(413, "PayloadTooLarge", f"the upload is over this server's "
                                  f"limit of {settings.max_upload_mb} MB (ONEMAP_MAX_UPLOAD_MB)")
            if parser is not None:
                parser.write(chunk)
            else:
                staged.file.write(chunk)
        if parser is not None:
            parser.finalize()
        staged.finish()
    except (UploadError, ClientDisconnect):
        staged.discard()
        raise
    except Exception as exc:  # a malformed multipart body
        staged.discard()
        raise UploadError(400, "InvalidParameter", f"cannot read the upload: {exc}") from None
    if not staged.got_file or staged.path.stat().st_size == 0:
        staged.discard()
        raise UploadError(400, "MissingFile", f"no file in the upload: send {what} in the "
                          "form field 'file'" + (" (or as the request body)" if raw else ""))
    return staged
