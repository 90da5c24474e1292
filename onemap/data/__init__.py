"""Deterministic sample data: the Chaohu (巢湖) basin around Hefei, and a national-scale inventory.

Entry point: :func:`onemap.data.generate.generate` (``onemap sample``).
"""
