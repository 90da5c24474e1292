"""Photos of a feature (现场照片): ``/api/attachments/{collection}/{feature}``.

A commander reporting an incident from the field sends its photos after the feature itself
(created or changed through OGC API Features Part 4, which carries no files). They are kept
with the feature, under the same rules as the feature:

* **write** (``POST``, multipart field ``file``): who may edit the layer's features
  (``edit_features``) where the feature lies (a county commander in the county): the policy's
  own checks, the same as Part 4's;
* **read** (``GET`` the list, ``GET …/{photo}.jpg``): who sees the feature — a hidden layer,
  or a feature outside the reader's region, is a 404 like an unknown one.

A photo is checked and re-encoded before it is kept: JPEG, PNG or WebP only (read by Pillow,
which opens nothing else than the bytes given), at most ``ONEMAP_MAX_IMAGE_PIXELS``, turned
upright by its EXIF orientation, scaled to at most :data:`MAX_SIDE` px and saved as a JPEG
without any metadata (no camera, no position beyond the feature's own). Each is written to a
temporary file and renamed, with a small JSON record beside it (who, when, size), under
``<data dir>/attachments/<collection>/<feature>/``. Nothing a request names is used as a path
but checked ids.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Any

import pyogrio
from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, JSONResponse
from PIL import Image, ImageOps, UnidentifiedImageError

from onemap.access import policy
from onemap.catalog import Entry, atomic_write_bytes
from onemap.config import Settings
from onemap.layers.families import FAMILIES
from onemap.mapserver.auth import principal_of
from onemap.mapserver.errors import ApiError, ErrorRoute
from onemap.mapserver.rasters import Catalogue

FEATURE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
PHOTO_ID = re.compile(r"[0-9a-f]{32}")
FORMATS = {"JPEG", "PNG", "WEBP"}
#: Longest side of a kept photo (px): plenty for a popup and a report, a few hundred KB.
MAX_SIDE = 2048
#: Photos one feature may have.
MAX_PHOTOS = 20


def folder(settings: Settings, collection: str, feature: str) -> FilePath:
    return settings.data_dir / "attachments" / collection / feature


def _feature_geometry(entry: Entry, feature: str, settings: Settings) -> Any:
    """The geometry of feature ``feature`` of ``entry`` (by the family's key); ApiError 404
    when there is none."""
    family = FAMILIES.get(entry.family)
    if family is None or not FEATURE_ID.fullmatch(feature):
        raise ApiError(404, "NotFound", f"no feature {feature!r} in {entry.id}")
    found = pyogrio.read_dataframe(settings.data_dir / entry.path, columns=[family.key],
                                   where=f"\"{family.key}\" = '{feature}'", max_features=1)
    if not len(found):
        raise ApiError(404, "NotFound", f"no feature {feature!r} in {entry.id}")
    return found.geometry.iloc[0]


def _entry(cat: Catalogue, collection: str, request: Request) -> Entry:
    return cat.entry(collection, ("vector",), principal_of(request))


def _seen(cat: Catalogue, collection: str, feature: str, request: Request) -> Entry:
    """The entry, when the caller sees this feature (else 404, as for an unknown one)."""
    entry = _entry(cat, collection, request)
    geometry = _feature_geometry(entry, feature, cat.settings)
    if not policy.read(principal_of(request), entry, cat.settings).sees(geometry):
        raise ApiError(404, "NotFound", f"no feature {feature!r} in {collection}")
    return entry


def _records(where: FilePath) -> list[dict[str, Any]]:
    if not where.is_dir():
        return []
    out = []
    for meta in sorted(where.glob("*.json")):
        try:
            out.append(json.loads(meta.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a record being written (renamed last) or damaged: not listed
    return sorted(out, key=lambda r: r.get("created", ""))


def _doc(record: dict[str, Any], base: str) -> dict[str, Any]:
    return {**record, "href": f"{base}/{record['id']}.jpg"}


def reencode(data: bytes, settings: Settings) -> tuple[bytes, int, int]:
    """The photo as a metadata-free JPEG (bytes, width, height); ApiError 4xx for anything
    that is not a JPEG, PNG or WebP image within the pixel limit."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind, (width, height) = probe.format, probe.size
            if kind not in FORMATS:
                raise ApiError(415, "UnsupportedMediaType",
                               f"a photo must be a JPEG, PNG or WebP image, not {kind}")
            if width * height > settings.max_image_pixels:
                raise ApiError(413, "PayloadTooLarge",
                               f"the photo has {width}×{height} px, more than "
                               f"ONEMAP_MAX_IMAGE_PIXELS ({settings.max_image_pixels})")
            probe.load()
            image = ImageOps.exif_transpose(probe).convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ApiError):
            raise
        raise ApiError(415, "UnsupportedMediaType",
                       "the file is not a readable JPEG, PNG or WebP image") from None
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue(), image.width, image.height


def attachment_router(cat: Catalogue) -> APIRouter:
    """Photos of features: list, add, read."""
    router = APIRouter(prefix="/api/attachments", tags=["attachments"], route_class=ErrorRoute)
    settings = cat.settings

    def base(collection: str, feature: str) -> str:
        return f"{settings.public_url}/api/attachments/{collection}/{feature}"

    @router.get("/{collectionId}/{featureId}", summary="The photos of a feature")
    def listed(request: Request, collection: str = Path(alias="collectionId"),
               feature: str = Path(alias="featureId")) -> JSONResponse:
        _seen(cat, collection, feature, request)
        records = _records(folder(settings, collection, feature))
        return JSONResponse({"attachments": [_doc(r, base(collection, feature))
                                             for r in records]},
                            headers={"Cache-Control": "private, no-cache"})

    @router.post("/{collectionId}/{featureId}", status_code=201,
                 summary="Add a photo (multipart field 'file'): commanders and data managers")
    async def add(request: Request, collection: str = Path(alias="collectionId"),
                  feature: str = Path(alias="featureId")) -> JSONResponse:
        who = principal_of(request)
        # as Part 4: the layer (404 hidden), the role (401, 403), then the feature and place
        policy.require(who, "edit_features", settings, _entry(cat, collection, request))
        entry = _seen(cat, collection, feature, request)
        policy.require_place(who, _feature_geometry(entry, feature, settings), settings)
        where = folder(settings, collection, feature)
        if len(_records(where)) >= MAX_PHOTOS:
            raise ApiError(409, "TooManyPhotos",
                           f"{feature} has {MAX_PHOTOS} photos already, the most it may have")
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(400, "MissingParameterValue", "send the photo as the field 'file'")
        data = await upload.read()
        if not data:
            raise ApiError(400, "MissingParameterValue", "the photo is empty")
        jpeg, width, height = reencode(data, settings)
        photo = uuid.uuid4().hex
        record = {"id": photo, "created": datetime.now(UTC).isoformat(timespec="seconds"),
                  "by": who.user, "width": width, "height": height, "bytes": len(jpeg),
                  "name": str(getattr(upload, "filename", "") or "")[:120]}
        atomic_write_bytes(where / f"{photo}.jpg", jpeg)
        atomic_write_bytes(where / f"{photo}.json",
                           json.dumps(record, ensure_ascii=False).encode())
        request.state.audit = {"action": "attachment_add", "target": f"{collection}/{feature}",
                               "detail": {"photo": photo, "bytes": len(jpeg)}}
        doc = _doc(record, base(collection, feature))
        return JSONResponse(doc, status_code=201, headers={"Location": doc["href"]})

    @router.get("/{collectionId}/{featureId}/{photoId}.jpg", summary="One photo (JPEG)",
                response_class=FileResponse)
    def photo(request: Request, collection: str = Path(alias="collectionId"),
              feature: str = Path(alias="featureId"),
              photo: str = Path(alias="photoId")) -> FileResponse:
        _seen(cat, collection, feature, request)
        path = folder(settings, collection, feature) / f"{photo}.jpg"
        if not PHOTO_ID.fullmatch(photo) or not path.is_file():
            raise ApiError(404, "NotFound", f"no photo {photo!r} of {feature}")
        return FileResponse(path, media_type="image/jpeg",
                            headers={"Cache-Control": "private, max-age=86400, immutable"})

    return router
