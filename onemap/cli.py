"""The ``onemap`` command: import layers, list the catalogue, generate sample data, serve.

Every sub-command goes through the same package functions the server uses, so a file imported
here lands exactly as an upload would. Errors print one clear message and exit non-zero.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from onemap import catalog
from onemap.config import get_settings


def _cmd_import(args: argparse.Namespace) -> int:
    from onemap.layers.importer import import_file

    entry = import_file(args.file, args.family, layer_id=args.id, title=args.title,
                        access=args.access, crs=args.crs, layer=args.layer,
                        encoding=args.encoding, settings=get_settings())
    print(f"imported {entry.feature_count} features into layer {entry.id!r} ({entry.family})")
    return 0


def _cmd_layers(args: argparse.Namespace) -> int:
    entries = catalog.load(get_settings())
    if not entries:
        print("the catalogue is empty: run 'onemap sample' or 'onemap import FILE --family F'")
        return 0
    for e in entries.values():
        print(f"{e.id:28} {e.kind:7} {e.family:20} {e.access:8} {e.feature_count:>9}  {e.title}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from onemap.data.generate import generate

    generate(get_settings(), scale=args.scale, force=args.force)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from onemap.server import serve

    serve(get_settings())
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
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("layers", help="list the catalogue")
    p.set_defaults(func=_cmd_layers)

    p = sub.add_parser("sample", help="generate the sample region and import it")
    p.add_argument("--scale", choices=["region", "national"], default="region")
    p.add_argument("--force", action="store_true", help="regenerate even if data exists")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("serve", help="serve the map and the OGC endpoints")
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, catalog.UnknownDataset) as exc:
        print(f"onemap {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
