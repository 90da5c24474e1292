"""Raster ingestion: any georeferenced raster → validated Cloud-Optimised GeoTIFF → catalogue.

Entry point: :func:`onemap.raster.ingest.add_raster`.
"""
