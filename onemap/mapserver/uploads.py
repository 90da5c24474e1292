"""Placeholder: replaced by the real uploads endpoints (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

from onemap.mapserver.rasters import Catalogue


def upload_router(cat: Catalogue) -> APIRouter:
    """An empty router until the uploads endpoints land."""
    return APIRouter()
