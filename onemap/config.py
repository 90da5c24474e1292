"""All OneMap settings, read once from ``ONEMAP_*`` environment variables.

One place for configuration so that the CLI, the server, the generator and the tests agree on
where the data lives and where the server answers. Every value has a default that works on a
fresh clone with no environment set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Runtime settings; build with :func:`get_settings` (or directly in tests)."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    #: XYZ template of an intranet tile service (e.g. a 天地图 mirror); empty = offline basemap
    #: drawn from our own admin boundaries, rivers and lake.
    basemap_url: str = ""
    basemap_attribution: str = ""
    #: Largest page an OGC API Features client may ask for.
    max_items: int = 10000
    #: The page an OGC API Features client gets when it names no ``limit``; the OpenAPI
    #: document states it (QGIS takes its page size from there), capped by ``max_items``.
    page_items: int = 1000
    #: Largest upload accepted, in megabytes.
    max_upload_mb: int = 2048
    #: Largest raster accepted (width × height, pixels) and most bands, at upload or ingestion.
    max_raster_pixels: int = 2_000_000_000
    max_raster_bands: int = 64
    #: A zipped Shapefile is refused when the Shapefile unpacks to more than this (MB, counted
    #: from the declared sizes and again while extracting) or the zip has more members.
    max_zip_mb: int = 1024
    max_zip_members: int = 1000
    #: Most attribute columns of an imported file (a CSV's header is counted before reading it);
    #: the GeoPackage store itself stops at 2000.
    max_csv_columns: int = 1000
    #: Largest image (width × height) a preview, bbox, feature or tile request may ask for;
    #: 4096×4096 by default (one such PNG is ~100 MB of working memory).
    max_image_pixels: int = 4096 * 4096
    #: Largest request body, in megabytes, of every route but the raster upload (which has
    #: ``max_upload_mb``); a bigger one is answered 413.
    max_body_mb: int = 50
    #: Seconds between two looks of ``onemap watch`` into its drop folder (a file is fed once
    #: it is unchanged between two looks).
    watch_interval: float = 5.0
    #: Web origins (``scheme://host[:port]``, comma-separated) whose pages may call this server
    #: from the browser (CORS); empty = none, only the map served here.
    cors_origins: str = ""
    #: The map ships a vector layer whole (clustered in the browser) up to this many features;
    #: a bigger layer is drawn from its vector tiles (every feature of a sparse tile, grid counts
    #: of a dense one: ``tile_max_features``), so the browser never receives a national layer at
    #: once. Capped by ``max_items``.
    app_max_features: int = 10000
    #: A vector tile (``/ogc/collections/{id}/tiles/…``) holds every feature up to this many
    #: centred in it; above, it holds the counts of a 16 × 16 grid of cells instead (nothing
    #: dropped, see onemap.mapserver.vtiles_data).
    tile_max_features: int = 1000
    #: Who draws the vector tiles of a layer served from PostGIS: ``index`` (the default: the
    #: GeoPackage's R-tree read into memory, onemap.mapserver.vtiles_data) or ``postgis``
    #: (``ST_AsMVT``, onemap.mapserver.vtiles_pg). The same tiles; see bench/README.md for
    #: which is faster where.
    vector_tiles: str = "index"
    #: SQLAlchemy URL of the system database (jobs, users, keys, rules, audit); empty = the
    #: SQLite file ``system.db`` in the data dir.
    system_db: str = ""
    #: PostgreSQL (with PostGIS) that OneMap keeps its data in, instead of files in the data
    #: dir: ``postgresql://user:password@host:5432/onemap`` (``make postgis`` makes a local one
    #: and prints its URL). The system tables go there too unless ``system_db`` names another.
    database_url: str = ""
    #: Background jobs (upload conversions, async processes) run at once; the rest wait in
    #: line ("queued" in their status).
    max_jobs: int = 2
    #: Longest a synchronous process request may run, in seconds (async jobs are not limited:
    #: they queue and can be cancelled).
    process_timeout: int = 300
    #: Password policy and lockout: shortest password; failed logins in a row that lock an
    #: account, and for how long.
    password_min_length: int = 12
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    #: Audit records older than this many days are moved from the system database to a
    #: verifiable archive file in ``audit_dir`` (at server start and by ``onemap audit
    #: rotate``); 0 keeps them in the database forever.
    audit_retention_days: int = 0
    #: OpenID Connect single sign-on (off while ``oidc_issuer`` is empty): the issuer URL
    #: (its ``/.well-known/openid-configuration`` is read), this server's client id and secret,
    #: the scopes asked for, and which claims carry the user name, the roles and the region.
    #: ``oidc_role_map`` maps the provider's role names to ours ("env-admin=admin,gis=viewer");
    #: a role name of ours passes as it is, any other is dropped.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile"
    oidc_user_claim: str = "preferred_username"
    oidc_roles_claim: str = "roles"
    oidc_region_claim: str = "region"
    oidc_role_map: str = ""
    #: CA certificate file (PEM) to trust for the provider's HTTPS, e.g. the bureau's own CA;
    #: empty = the system's trust store.
    oidc_ca_file: str = ""
    #: Web sessions end after this many minutes without a request, and this many hours after
    #: the login whatever happens.
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    #: Password of the ``admin`` account created when the system database has no user yet;
    #: empty = a generated one, printed once in the server's log.
    admin_password: str = ""
    #: The HJ 212 receiver (``onemap hj212``): where it listens for monitoring devices (bind
    #: ``0.0.0.0`` for devices on the network), the password (PW) of devices that have none
    #: of their own (``onemap hj212 password MN`` sets one per device; the standard's examples
    #: use 123456, change it), after how long without data a device counts as offline (断线),
    #: and after how long an idle connection is closed.
    hj212_host: str = "127.0.0.1"
    hj212_port: int = 9212
    hj212_password: str = "123456"
    hj212_offline_minutes: float = 10.0
    hj212_idle_seconds: float = 600.0
    #: The data-resource catalogue (OGC API Records at ``/ogc/collections/data-catalog``):
    #: the providing unit (提供单位) in Chinese and English, the contact (联系方式: a
    #: department and phone number, free text) and e-mail, and the dataset ids or families
    #: (comma-separated) that are not shared (共享属性 不予共享; the others are 无条件共享
    #: when public, 有条件共享 when internal).
    catalog_publisher: str = "OneMap"
    catalog_publisher_en: str = ""
    catalog_contact: str = ""
    catalog_email: str = ""
    catalog_unshared: str = ""
    #: WMS/WFS (MapServer at ``/wms`` and ``/wfs``): worker processes started with the server
    #: (each answers one request at a time), and the longest a request may take in seconds
    #: before its worker is killed and replaced.
    wms_workers: int = 2
    wms_timeout: float = 60.0
    #: The big screen (``/?mode=screen``): seconds each layer of its tour is shown, and seconds
    #: between two looks at the data's versions (figures and layers redrawn when they change).
    screen_rotate_s: float = 20.0
    screen_refresh_s: float = 30.0
    #: Rendered tiles (raster and vector) kept on disk under the runtime dir, keyed by the
    #: dataset's version and every rendering parameter, shared by the workers; the oldest go
    #: first past this size in MB. 0 turns the cache off (HTTP revalidation still works).
    tile_cache_mb: int = 512
    #: Worker processes of ``onemap serve`` (``--workers`` overrides): each answers requests
    #: on the one port with its own copy of the app; about one per core.
    workers: int = 1
    #: Heavy analyses (surface series) run on dask.distributed: the scheduler of an existing
    #: cluster (``tcp://host:8786``; its workers must see the data dir at the same path), or
    #: empty for a LocalCluster of ``dask_workers`` processes (0: one per core) started by the
    #: first run that needs it and kept for the process's lifetime.
    dask_scheduler: str = ""
    dask_workers: int = 0

    @property
    def store_dir(self) -> Path:
        """One GeoPackage per vector layer."""
        return self.data_dir / "store"

    @property
    def raster_dir(self) -> Path:
        """Cloud-optimised GeoTIFFs, one per catalogued raster."""
        return self.data_dir / "rasters"

    @property
    def cube_dir(self) -> Path:
        """Zarr data cubes (time × y × x grids), one store per catalogued cube."""
        return self.data_dir / "cubes"

    @property
    def upload_dir(self) -> Path:
        """Uploads being received; a file moves out of here only once it is catalogued."""
        return self.data_dir / "uploads"

    @property
    def audit_dir(self) -> Path:
        """Archives of rotated audit records (strict JSON lines that verify on their own)."""
        return self.data_dir / "audit"

    @property
    def system_db_url(self) -> str:
        if self.system_db:
            return self.system_db
        if self.database_url:  # SQLAlchemy's name for psycopg 3
            return "postgresql+psycopg://" + self.database_url.split("://", 1)[1]
        return f"sqlite:///{self.data_dir / 'system.db'}"

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.json"

    @property
    def runtime_dir(self) -> Path:
        """Generated server files (pygeoapi config, OpenAPI document, job output)."""
        return self.data_dir / "runtime"

    @property
    def process_dir(self) -> Path:
        """This process's own generated files (pygeoapi's configuration, OpenAPI document and
        page templates), so that the server's workers never read each other's half-written
        ones; a dead process's folder is removed at the next start (onemap.recovery)."""
        return self.runtime_dir / "proc" / str(os.getpid())

    @property
    def sample_dir(self) -> Path:
        """Raw sample files written by the generator before they are imported."""
        return self.data_dir / "sample"


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first by default); another value stops the start with a word."""
    given = env.get(name, "")
    value = given.strip().lower() or choices[0]
    if value not in choices:
        raise SystemExit(f"{name}={given!r}: must be one of {', '.join(choices)}")
    return value


def get_settings() -> Settings:
    """Settings from the environment; call again after changing ``os.environ`` (tests do)."""
    env = os.environ
    host = env.get("ONEMAP_HOST", "127.0.0.1")
    port = int(env.get("ONEMAP_PORT", "8000"))
    return Settings(
        data_dir=Path(env.get("ONEMAP_DATA_DIR", str(ROOT / "var"))).resolve(),
        host=host,
        port=port,
        public_url=env.get("ONEMAP_PUBLIC_URL", f"http://{host}:{port}").rstrip("/"),
        basemap_url=env.get("ONEMAP_BASEMAP_URL", ""),
        basemap_attribution=env.get("ONEMAP_BASEMAP_ATTRIBUTION", ""),
        max_items=int(env.get("ONEMAP_MAX_ITEMS", "10000")),
        page_items=int(env.get("ONEMAP_PAGE_ITEMS", "1000")),
        max_upload_mb=int(env.get("ONEMAP_MAX_UPLOAD_MB", "2048")),
        max_raster_pixels=int(env.get("ONEMAP_MAX_RASTER_PIXELS", "2000000000")),
        max_raster_bands=int(env.get("ONEMAP_MAX_RASTER_BANDS", "64")),
        max_zip_mb=int(env.get("ONEMAP_MAX_ZIP_MB", "1024")),
        max_zip_members=int(env.get("ONEMAP_MAX_ZIP_MEMBERS", "1000")),
        max_csv_columns=int(env.get("ONEMAP_MAX_CSV_COLUMNS", "1000")),
        max_image_pixels=int(env.get("ONEMAP_MAX_IMAGE_PIXELS", str(4096 * 4096))),
        max_body_mb=int(env.get("ONEMAP_MAX_BODY_MB", "50")),
        watch_interval=max(0.05, float(env.get("ONEMAP_WATCH_INTERVAL", "5"))),
        cors_origins=env.get("ONEMAP_CORS_ORIGINS", ""),
        app_max_features=int(env.get("ONEMAP_APP_MAX_FEATURES", "10000")),
        tile_max_features=max(1, int(env.get("ONEMAP_TILE_MAX_FEATURES", "1000"))),
        vector_tiles=_choice(env, "ONEMAP_VECTOR_TILES", ("index", "postgis")),
        system_db=env.get("ONEMAP_SYSTEM_DB", ""),
        database_url=env.get("ONEMAP_DATABASE_URL", ""),
        max_jobs=max(1, int(env.get("ONEMAP_MAX_JOBS", "2"))),
        process_timeout=max(1, int(env.get("ONEMAP_PROCESS_TIMEOUT", "300"))),
        password_min_length=max(8, int(env.get("ONEMAP_PASSWORD_MIN_LENGTH", "12"))),
        lockout_attempts=max(1, int(env.get("ONEMAP_LOCKOUT_ATTEMPTS", "5"))),
        lockout_minutes=max(1, int(env.get("ONEMAP_LOCKOUT_MINUTES", "15"))),
        audit_retention_days=max(0, int(env.get("ONEMAP_AUDIT_RETENTION_DAYS", "0"))),
        oidc_issuer=env.get("ONEMAP_OIDC_ISSUER", "").rstrip("/"),
        oidc_client_id=env.get("ONEMAP_OIDC_CLIENT_ID", ""),
        oidc_client_secret=env.get("ONEMAP_OIDC_CLIENT_SECRET", ""),
        oidc_scopes=env.get("ONEMAP_OIDC_SCOPES", "openid profile"),
        oidc_user_claim=env.get("ONEMAP_OIDC_USER_CLAIM", "preferred_username"),
        oidc_roles_claim=env.get("ONEMAP_OIDC_ROLES_CLAIM", "roles"),
        oidc_region_claim=env.get("ONEMAP_OIDC_REGION_CLAIM", "region"),
        oidc_role_map=env.get("ONEMAP_OIDC_ROLE_MAP", ""),
        oidc_ca_file=env.get("ONEMAP_OIDC_CA_FILE", ""),
        session_idle_minutes=max(1, int(env.get("ONEMAP_SESSION_IDLE_MINUTES", "30"))),
        session_max_hours=max(1, int(env.get("ONEMAP_SESSION_MAX_HOURS", "12"))),
        admin_password=env.get("ONEMAP_ADMIN_PASSWORD", ""),
        hj212_host=env.get("ONEMAP_HJ212_HOST", "127.0.0.1"),
        hj212_port=int(env.get("ONEMAP_HJ212_PORT", "9212")),
        hj212_password=env.get("ONEMAP_HJ212_PASSWORD", "123456"),
        hj212_offline_minutes=max(0.05, float(env.get("ONEMAP_HJ212_OFFLINE_MINUTES", "10"))),
        hj212_idle_seconds=max(1.0, float(env.get("ONEMAP_HJ212_IDLE_SECONDS", "600"))),
        catalog_publisher=env.get("ONEMAP_CATALOG_PUBLISHER", "OneMap"),
        catalog_publisher_en=env.get("ONEMAP_CATALOG_PUBLISHER_EN", ""),
        catalog_contact=env.get("ONEMAP_CATALOG_CONTACT", ""),
        catalog_email=env.get("ONEMAP_CATALOG_EMAIL", ""),
        catalog_unshared=env.get("ONEMAP_CATALOG_UNSHARED", ""),
        wms_workers=max(0, int(env.get("ONEMAP_WMS_WORKERS", "2"))),
        wms_timeout=max(1.0, float(env.get("ONEMAP_WMS_TIMEOUT", "60"))),
        screen_rotate_s=max(2.0, float(env.get("ONEMAP_SCREEN_ROTATE_S", "20"))),
        screen_refresh_s=max(2.0, float(env.get("ONEMAP_SCREEN_REFRESH_S", "30"))),
        tile_cache_mb=max(0, int(env.get("ONEMAP_TILE_CACHE_MB", "512"))),
        workers=max(1, int(env.get("ONEMAP_WORKERS", "1"))),
        dask_scheduler=env.get("ONEMAP_DASK_SCHEDULER", ""),
        dask_workers=max(0, int(env.get("ONEMAP_DASK_WORKERS", "0"))),
    )
