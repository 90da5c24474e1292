"""Placeholder: replaced by the real zonal endpoints (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

from onemap.mapserver.rasters import Catalogue


def zonal_router(cat: Catalogue) -> APIRouter:
    """An empty router until the zonal endpoints land."""
    return APIRouter()
