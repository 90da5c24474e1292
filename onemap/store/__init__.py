"""Where served features live: the embedded GeoPackages (default) or PostgreSQL/PostGIS.

With ``ONEMAP_DATABASE_URL`` set, every vector layer an import catalogues is also loaded into
PostGIS (schema ``layers``, one table per catalogue id, the GeoPackage's feature ids kept, a GiST
index on the geometry and a B-tree on the family's key) and OGC API Features reads it from there:
counts from the planner's statistics where the standard allows an estimate, keyset pages, a
feature by its key in one index probe. The GeoPackage stays the file an import writes and a GIS
desktop opens. Time-series tables (hourly air, water samples) are loaded too, partitioned by
year, and a feed writes its rows to both (:mod:`onemap.store.pg_series`); EDR reads a station's
series there. A layer changed one feature at a time (incidents) is loaded too, and each edit,
committed to the GeoPackage, is then made to the table. The HJ 212 receiver's live tables
(readings, devices, alarms) follow their file change by change (:mod:`onemap.store.pg_live`).
"""

from __future__ import annotations

from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.families import FAMILIES


def read_only(entry: Entry) -> bool:
    """A vector layer that only an import writes (not edited feature by feature, not written
    by the receiver): its catalogued feature count is exact, and it can live in PostGIS."""
    if entry.kind != "vector" or entry.live:
        return False
    family = FAMILIES.get(entry.family)
    editable = entry.editable if entry.editable is not None else bool(family and family.editable)
    return not editable


def served_from_postgis(entry: Entry, settings: Settings) -> bool:
    """Whether ``entry`` is (to be) loaded into PostGIS and read from there: a vector layer
    (an edited one too: each edit follows, :func:`onemap.store.pg_load.mirror_feature`), a
    time-series table (partitioned, fed there too: :mod:`.pg_series`), or one of the
    receiver's live tables (following its change log: :mod:`.pg_live`)."""
    from onemap.store.pg_series import series_key

    if not settings.database_url:
        return False
    return entry.kind == "vector" or entry.live or series_key(entry) is not None


def follow_catalogue(settings: Settings, *, background: bool = False) -> None:
    """After an import or a removal (and at server start): PostGIS holds what the catalogue
    says. Without a database URL, nothing. A database that cannot be reached is logged, not
    raised: the layer is committed to its file, and it is served from there meanwhile.

    ``background``: in a daemon thread, for a server's start — loading 13 years of hourly
    series takes many minutes, and every reader already falls back to the files until its
    table holds the current version (:func:`pending` says which do not yet)."""
    if not settings.database_url:
        return
    if background:
        import threading

        threading.Thread(target=follow_catalogue, args=(settings,), daemon=True,
                         name="onemap-postgis-load").start()
        return
    import logging

    import psycopg

    from onemap.store import pg_load

    try:
        pg_load.sync(settings)
    except psycopg.Error as exc:
        logging.getLogger(__name__).error("PostGIS not updated (layers served from their "
                                          "files until it is): %s", exc)


def pending(settings: Settings) -> list[str]:
    """The ids of layers and series PostGIS is to serve but does not hold the current version
    of yet (a load under way, failed, or not started); empty without a database URL."""
    if not settings.database_url:
        return []
    import psycopg

    from onemap import catalog
    from onemap.store import pg_load

    out = []
    for entry in catalog.load(settings).values():
        try:
            if served_from_postgis(entry, settings) and not pg_load.is_current(entry, settings):
                out.append(entry.id)
        except psycopg.Error:
            out.append(entry.id)
    return out
