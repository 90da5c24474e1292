"""Placeholder: replaced by the real stac endpoints (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

from onemap.mapserver.rasters import Catalogue


def stac_router(cat: Catalogue) -> APIRouter:
    """An empty router until the stac endpoints land."""
    return APIRouter()
