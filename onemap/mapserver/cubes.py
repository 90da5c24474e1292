"""Placeholder: replaced by the real cubes endpoints (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

from onemap.mapserver.rasters import Catalogue


def cube_router(cat: Catalogue) -> APIRouter:
    """An empty router until the cubes endpoints land."""
    return APIRouter()
