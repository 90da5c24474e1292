"""Placeholder: replaced by the real legends endpoints (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

from onemap.mapserver.rasters import Catalogue


def legend_router(cat: Catalogue) -> APIRouter:
    """An empty router until the legends endpoints land."""
    return APIRouter()
