"""The ``onemap`` command: import layers, list the catalogue, generate sample data, serve.

Every sub-command goes through the same package functions the server uses, so a file imported
here lands exactly as an upload would. Errors print one clear message and exit non-zero.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from onemap import catalog, cli_audit
from onemap.accounts_cli import add_parsers as add_account_parsers
from onemap.config import get_settings
from onemap.live import cli as live_cli


def _cmd_import(args: argparse.Namespace) -> int:
    from onemap.layers.importer import import_file

    entry = import_file(args.file, args.family, layer_id=args.id, title=args.title,
                        access=args.access, crs=args.crs, layer=args.layer,
                        encoding=args.encoding, settings=get_settings(),
                        region=_region(args.region))
    print(f"imported {entry.feature_count} features into layer {entry.id!r} ({entry.family})")
    return 0


def _region(code: str | None) -> str:
    """An owning region given on the command line: a code of the admin boundaries, or ""."""
    if not code:
        return ""
    from onemap.access import regions

    regions.check_code(code)
    if code not in regions.known(get_settings()):
        raise ValueError(f"region {code!r} is not in the admin boundaries")
    return code


def _cmd_layers(args: argparse.Namespace) -> int:
    entries = catalog.load(get_settings())
    if not entries:
        print("the catalogue is empty: run 'onemap sample' or 'onemap import FILE --family F'")
        return 0
    for e in entries.values():
        print(f"{e.id:28} {e.kind:7} {e.family:20} {e.access:8} {e.feature_count:>9}  {e.title}")
    return 0


def _numbers(text: str | None, what: str, cast=float) -> list | None:
    if not text:
        return None
    try:
        return [cast(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{what} must be numbers separated by ',', got {text!r}") from None


def _cmd_raster_add(args: argparse.Namespace) -> int:
    from pathlib import Path

    from onemap.raster.ingest import add_raster, suggest_id

    settings = get_settings()
    dataset_id = args.id or suggest_id(Path(args.file).name, args.date)
    if dataset_id in catalog.load(settings) and not args.overwrite:
        raise ValueError(f"a dataset with id {dataset_id!r} already exists (use --overwrite "
                         "or another --id)")
    entry = add_raster(
        args.file, dataset_id=dataset_id, title=args.name or Path(args.file).stem,
        title_en=args.name_en or "", date=args.date, collection=args.collection,
        colormap=args.colormap, rescale=_numbers(args.rescale, "--rescale"),
        expression=args.expression,
        bands=[b.strip() for b in args.bands.split(",")] if args.bands else None,
        bidx=_numbers(args.bidx, "--bidx", int), access=args.access,
        web_optimized=args.web_optimized, settings=settings)
    x = entry.extra
    print(f"added raster {entry.id!r}: {x['width']}×{x['height']} px, {x['count']} band(s) "
          f"{x['dtype']}, {x['crs']} → {entry.path}")
    return 0


def _cmd_raster_list(args: argparse.Namespace) -> int:
    rasters = [e for e in catalog.load(get_settings()).values() if e.kind in ("raster", "cube")]
    if not rasters:
        print("no rasters: add one with 'onemap raster add FILE --name TITLE'")
    for e in rasters:
        x = e.extra or {}
        when = x.get("date") or (f"{x['times'][0]} … {x['times'][-1]}" if x.get("times") else "")
        print(f"{e.id:28} {e.kind:6} {x.get('collection') or e.id:16} {when:24} {e.title}")
    return 0


def _remove(dataset_id: str, kinds: tuple[str, ...]) -> catalog.Entry:
    """Drop a dataset of one of ``kinds`` from the catalogue, then its file."""
    settings = get_settings()
    entry = catalog.get(dataset_id, settings)
    if entry.kind not in kinds:
        raise ValueError(f"{dataset_id!r} is a {entry.kind} dataset, not a "
                         f"{' or '.join(kinds)}")
    from onemap.store import follow_catalogue

    gone = catalog.discard(dataset_id, settings)
    follow_catalogue(settings)  # its PostGIS table too
    return gone


def _cmd_raster_remove(args: argparse.Namespace) -> int:
    _remove(args.id, ("raster", "cube"))
    print(f"removed raster {args.id!r}")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    entry = _remove(args.id, ("vector", "table"))
    print(f"removed layer {args.id!r} ({entry.feature_count} features)")
    return 0


def _cmd_feed(args: argparse.Namespace) -> int:
    from pathlib import Path

    from onemap.layers import feeds
    from onemap.layers.errors import LayerImportError
    from onemap.mapserver.feeds_api import ingest

    settings = get_settings()
    path = Path(args.file)
    try:
        frame, unit = feeds.read_batch(path, settings, encoding=args.encoding)
        result = ingest(args.id, frame, settings, source=path.name, unit=unit)
    except catalog.UnknownDataset:
        raise ValueError(f"no table {args.id!r} in the catalogue") from None
    except LayerImportError as exc:  # every problem, not the first ten
        print(f"onemap feed: {exc.total} problem(s) in {path.name}; nothing was written:",
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        if exc.total > len(exc.problems):
            print(f"  … and {exc.total - len(exc.problems)} more", file=sys.stderr)
        return 1
    print(f"fed {result.rows} rows into {args.id!r}: {result.inserted} inserted, "
          f"{result.updated} updated, {result.unchanged} unchanged")
    return 0


def _cmd_watch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from onemap.watch import Watcher

    if args.table and args.table_from_name:
        raise ValueError("give --table or --table-from-name, not both")
    settings = get_settings()
    interval = settings.watch_interval if args.interval is None else args.interval
    if interval <= 0:
        raise ValueError("--interval must be a positive number of seconds")
    watcher = Watcher(Path(args.folder), settings, table=args.table,
                      report=lambda line: print(line, flush=True))
    print(f"watching {watcher.folder} every {interval:g} s (Ctrl-C stops)", flush=True)
    try:
        watcher.run(interval)
    except KeyboardInterrupt:
        pass
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from onemap.data.generate import generate

    generate(get_settings(), scale=args.scale, force=args.force, years=args.years)
    return 0


def _cmd_postgis(args: argparse.Namespace) -> int:
    from onemap import pgcluster

    folder = args.dir or get_settings().data_dir / "postgres"
    try:
        if args.stop:
            pgcluster.stop(folder)
            print(f"postgis: stopped the cluster in {folder}")
            return 0
        url = pgcluster.ensure(folder, port=args.port)
    except pgcluster.ClusterError as exc:
        print(f"onemap postgis: {exc}", file=sys.stderr)
        return 1
    print(f"postgis: PostgreSQL 15 + PostGIS running in {folder} on 127.0.0.1:{args.port}")
    print(f"ONEMAP_DATABASE_URL={url}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from onemap.server import serve

    if args.workers is None:
        args.workers = get_settings().workers
    if args.workers < 1:
        print("onemap serve: --workers must be at least 1", file=sys.stderr)
        return 2
    if not args.live:
        serve(get_settings(), workers=args.workers)
        return 0
    from onemap.live.companions import companions

    with companions(get_settings(), simulate=args.simulate):
        serve(get_settings(), workers=args.workers)
    return 0


def _cmd_simulate_hj212(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from onemap.live import simulate as sim

    settings = get_settings()
    for name, value in (("--interval", args.interval), ("--duration", args.duration)):
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be a number of seconds above 0, got {value}")
    if not 0 <= args.backfill_hours <= 24 * 31:
        raise ValueError(f"--backfill-hours must be 0 to 744, got {args.backfill_hours}")
    if args.port is not None and not 0 < args.port < 65536:
        raise ValueError(f"--port must be 1 to 65535, got {args.port}")
    if not 0 <= args.share <= 1:
        raise ValueError(f"--share must be between 0 and 1, got {args.share}")
    rows = sim.load_outlets(settings)
    if args.devices != "all":
        if not args.devices.isdigit() or int(args.devices) < 1:
            raise ValueError(f"--devices must be a number above 0 or 'all', got {args.devices!r}")
        rows = rows.head(int(args.devices))
    devices = sim.devices_of(rows, args.seed, args.share)
    cast = sorted((d for d in devices if d.scenario), key=lambda d: (d.scenario, d.outlet_code))
    if args.list_scenarios:
        for dev in cast:
            print(f"{dev.mn}  {dev.outlet_code}  {dev.scenario:14} {dev.target}")
        return 0
    opts = sim.Options(host=args.host or settings.hj212_host,
                       port=args.port or settings.hj212_port,
                       password=args.password or settings.hj212_password,
                       interval=args.interval, backfill_hours=args.backfill_hours)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    print(f"simulating {len(devices)} HJ 212 devices → {opts.host}:{opts.port} every "
          f"{opts.interval:g} s, {len(cast)} playing a scenario (--list-scenarios shows who); "
          "Ctrl-C stops", flush=True)
    stats = asyncio.run(sim.simulate(devices, opts, duration=args.duration,
                                     handle_signals=True,
                                     report_every=max(10.0, min(60.0, 2 * opts.interval))))
    print(stats.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onemap", description="OneMap 生态环境一张图")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="import a vector file or CSV into the store")
    p.add_argument("file")
    p.add_argument("--family", required=True, help="layer family, e.g. air_stations")
    p.add_argument("--id", help="layer id (default: the family name)")
    p.add_argument("--title", help="layer title (default: the family's title)")
    p.add_argument("--access", choices=["public", "internal"], default="public")
    p.add_argument("--crs", help="CRS of a file that does not state one, e.g. EPSG:4490")
    p.add_argument("--layer", help="layer inside a GeoPackage holding several")
    p.add_argument("--encoding", help="text encoding of a CSV or Shapefile, e.g. GBK")
    p.add_argument("--region", help="adcode of the office that owns the layer (default: the "
                   "whole territory); a county's data manager replaces only its own layers")
    p.set_defaults(func=_cmd_import)

    raster = sub.add_parser("raster", help="add, list or remove rasters (GeoTIFF → COG)")
    rsub = raster.add_subparsers(dest="raster_command", required=True)
    p = rsub.add_parser("add", help="convert a GeoTIFF to a COG and catalogue it")
    p.add_argument("file")
    p.add_argument("--name", help="title shown on the map (default: the file name)")
    p.add_argument("--name-en", help="English title")
    p.add_argument("--id", help="dataset id (default: from the file name)")
    p.add_argument("--date", help="acquisition date or time, ISO 8601 (2025-07-20)")
    p.add_argument("--collection", help="time series the raster belongs to, e.g. ndvi")
    p.add_argument("--colormap", help="default colormap, e.g. onemap_ndvi or viridis")
    p.add_argument("--rescale", help="default display range MIN,MAX")
    p.add_argument("--expression", help="default band math, e.g. (b4-b3)/(b4+b3)")
    p.add_argument("--bands", help="band names in file order, e.g. blue,green,red,nir")
    p.add_argument("--bidx", help="default bands to show, e.g. 3,2,1")
    p.add_argument("--access", choices=["public", "internal"], default="public")
    p.add_argument("--web-optimized", action="store_true",
                   help="reproject to Web Mercator aligned on the tile grid (faster tiles)")
    p.add_argument("--overwrite", action="store_true", help="replace a raster with this id")
    p.set_defaults(func=_cmd_raster_add)
    p = rsub.add_parser("list", help="list catalogued rasters and cubes")
    p.set_defaults(func=_cmd_raster_list)
    p = rsub.add_parser("remove", help="remove a raster from the catalogue and disk")
    p.add_argument("id")
    p.set_defaults(func=_cmd_raster_remove)

    p = sub.add_parser("remove", help="remove a vector layer or table from the catalogue and "
                       "the store (rasters: 'onemap raster remove')")
    p.add_argument("id")
    p.set_defaults(func=_cmd_remove)

    p = sub.add_parser("feed", help="append (upsert) the rows of a CSV or JSON file to a "
                       "time-series table (air_hourly, water_samples)")
    p.add_argument("file")
    p.add_argument("--table", dest="id", required=True, help="the table's id, e.g. air_hourly")
    p.add_argument("--encoding", help="text encoding of a CSV, e.g. GBK (default: detected)")
    p.set_defaults(func=_cmd_feed)

    p = sub.add_parser("watch", help="feed the CSV/JSON files that land in a folder (an FTP "
                       "drop): fed files go to DIR/done, refused ones to DIR/failed")
    p.add_argument("folder")
    p.add_argument("--table", help="the table every file feeds (default: from the name)")
    p.add_argument("--table-from-name", action="store_true", help="the table is the file "
                   "name's prefix, e.g. air_hourly_20261203T10.csv (the default)")
    p.add_argument("--interval", type=float, help="seconds between polls (default: "
                   "ONEMAP_WATCH_INTERVAL, 5)")
    p.set_defaults(func=_cmd_watch)

    p = sub.add_parser("layers", help="list the catalogue")
    p.set_defaults(func=_cmd_layers)

    p = sub.add_parser("sample", help="generate the sample region and import it")
    p.add_argument("--scale", choices=["region", "national"], default="region")
    p.add_argument("--force", action="store_true", help="regenerate even if data exists")
    p.add_argument("--years", type=int, default=0, help="with --scale national: N years of "
                   "hourly data for every station, ending 2025 (air_hourly_national; 13 ≈ "
                   "170 million rows, generated and imported a month at a time)")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("postgis", help="make and start a local PostgreSQL + PostGIS cluster "
                                       "(idempotent) and print its ONEMAP_DATABASE_URL")
    p.add_argument("--dir", type=Path, default=None,
                   help="where the cluster lives (default <data dir>/postgres)")
    p.add_argument("--port", type=int, default=5433, help="127.0.0.1 port (default 5433)")
    p.add_argument("--stop", action="store_true", help="stop it instead")
    p.set_defaults(func=_cmd_postgis)

    cli_audit.add_parser(sub)  # onemap audit [list|verify|rotate]
    live_cli.add_parser(sub)  # onemap hj212 [serve|password|devices|rules]

    simulate = sub.add_parser("simulate", help="simulate field devices (demo and load)")
    ssub = simulate.add_subparsers(dest="simulate_command", required=True)
    p = ssub.add_parser("hj212", help="drive the key-managed outlets as HJ 212 devices over "
                        "TCP to a receiver ('onemap hj212')")
    p.add_argument("--host", help="receiver's address (default: the hj212_host setting)")
    p.add_argument("--port", type=int, help="receiver's port (default: the hj212_port setting)")
    p.add_argument("--devices", default="all", help="how many devices, or 'all' (default)")
    p.add_argument("--interval", type=float, default=60.0,
                   help="seconds between a device's real-time data (default 60)")
    p.add_argument("--seed", type=int, default=0, help="which devices play which scenario")
    p.add_argument("--share", type=float, default=0.05, help="share of devices playing a "
                   "scenario (default 0.05; at least one per scenario)")
    p.add_argument("--duration", type=float, help="stop after this many seconds "
                   "(default: until Ctrl-C)")
    p.add_argument("--backfill-hours", type=int, default=6,
                   help="hours of hourly data each device back-fills on start (default 6)")
    p.add_argument("--password", help="devices' PW (default: the hj212_password setting)")
    p.add_argument("--list-scenarios", action="store_true",
                   help="print MN, outlet code, scenario of the devices playing one, and exit")
    p.set_defaults(func=_cmd_simulate_hj212)

    p = sub.add_parser("serve", help="serve the map and the OGC endpoints")
    p.add_argument("--live", action="store_true",
                   help="also run the HJ 212 receiver (onemap hj212) beside the server")
    p.add_argument("--simulate", action="store_true",
                   help="with --live: also drive the sample's devices (onemap simulate hj212)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes answering on the one port (default ONEMAP_WORKERS, "
                        "1); about one per core")
    p.set_defaults(func=_cmd_serve)
    add_account_parsers(sub)  # users, keys, grant, rules
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from onemap.recovery import hold_data_dir

    args = build_parser().parse_args(argv)
    try:
        hold_data_dir(get_settings())  # a server starting now leaves our temporary files alone
        code = args.func(args)
    except (ValueError, FileNotFoundError, catalog.UnknownDataset) as exc:
        print(f"onemap {args.command}: {exc}", file=sys.stderr)
        cli_audit.record_cli(args, "failed", str(exc))
        return 2
    cli_audit.record_cli(args, "ok" if code == 0 else "failed")  # changes are audited
    return code


if __name__ == "__main__":
    sys.exit(main())
