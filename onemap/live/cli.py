"""``onemap hj212``: run the receiver, set devices' passwords, look at devices and rules.

* ``onemap hj212 [serve] [--host H] [--port P]`` — the receiver (until Ctrl-C or SIGTERM);
* ``onemap hj212 password MN [--stdin | --default]`` — a device's own access password (asked
  twice, or one line on stdin); ``--default``: back to ``ONEMAP_HJ212_PASSWORD``;
* ``onemap hj212 devices [--status S]`` — registered devices with their state;
* ``onemap hj212 rules`` — the alarm rules in force (defaults and ``alarm_rules.json``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from typing import Any

from onemap.config import get_settings


def _serve(args: argparse.Namespace) -> int:
    from onemap.live import service

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)  # "Created 0 records" when made
    service.run(get_settings(), args.host, args.port)
    return 0


def _password(args: argparse.Namespace) -> int:
    from onemap.live import registry

    settings = get_settings()
    if args.id not in registry.Registry(settings).devices():
        raise ValueError(f"no outlet carries the device {args.id!r} (MN): register it in the "
                         "outlets layer first")
    if args.default:
        registry.set_password(settings, args.id, None, "cli")
        print(f"device {args.id} now uses ONEMAP_HJ212_PASSWORD")
        return 0
    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for device {args.id}: ")
        if password != getpass.getpass("again: "):
            raise ValueError("the two passwords differ")
    if not password or not password.isascii() or any(c in password for c in ";&,="):
        raise ValueError("a device password is ASCII, not empty, without ; & , or = "
                         "(it travels inside the frame's header)")
    registry.set_password(settings, args.id, password, "cli")
    print(f"device {args.id}: password set")
    return 0


def _devices(args: argparse.Namespace) -> int:
    from onemap.live import livestore

    conn = livestore.connect(livestore.path(get_settings()))
    where, params = ("WHERE status = ?", (args.status,)) if args.status else ("", ())
    rows = conn.execute(f"SELECT mn, outlet_code, status, last_seen, packets FROM devices "  # noqa: S608
                        f"{where} ORDER BY outlet_code", params).fetchall()
    for mn, outlet, status, last_seen, packets in rows:
        print(f"{mn:26} {outlet:26} {status:8} {last_seen or '-':26} {packets}")
    print(f"{len(rows)} devices", file=sys.stderr)
    return 0


def _rules(args: argparse.Namespace) -> int:
    from onemap.live import rules

    print(json.dumps(rules.load(get_settings()).model_dump(), ensure_ascii=False, indent=1))
    return 0


def add_parser(sub: Any) -> None:
    """Register ``hj212`` on the CLI's subparsers."""
    p = sub.add_parser("hj212", help="the HJ 212 receiver of online monitoring devices")
    p.set_defaults(func=_serve, host=None, port=None)
    hsub = p.add_subparsers(dest="hj212_command")
    s = hsub.add_parser("serve", help="receive HJ 212 data (the default)")
    s.add_argument("--host", help="listen address (ONEMAP_HJ212_HOST)")
    s.add_argument("--port", type=int, help="TCP port (ONEMAP_HJ212_PORT)")
    s.set_defaults(func=_serve)
    s = hsub.add_parser("password", help="set a device's own access password (PW)")
    s.add_argument("id", metavar="MN")
    how = s.add_mutually_exclusive_group()
    how.add_argument("--stdin", action="store_true", help="read it from standard input")
    how.add_argument("--default", action="store_true",
                     help="drop its own: use ONEMAP_HJ212_PASSWORD")
    s.set_defaults(func=_password)
    s = hsub.add_parser("devices", help="list registered devices and their state")
    s.add_argument("--status", choices=["unseen", "online", "offline"])
    s.set_defaults(func=_devices)
    s = hsub.add_parser("rules", help="print the alarm rules in force")
    s.set_defaults(func=_rules)
