"""``onemap audit``: read, verify and rotate the audit trail from the server machine.

Whoever may run the CLI on the server owns the data dir (the SYSTEM principal), so these
commands need no login; rotating is recorded in the trail like any change. Exit codes: 0 done
(or the chain verifies), 1 the chain or an archive is broken, 2 a usage error.

* ``onemap audit [--user U] [--action A] [--since ISO] [--until ISO] [--outcome O]
  [--limit N] [--json]`` — records, newest first (``--json``: one strict JSON object a line).
* ``onemap audit verify [--expect HASH] [--archive FILE ...]`` — walk the chain from its
  anchor to its head; print the count and the head hash (note it: ``--expect`` checks later
  that it is still in the chain), or the first broken record's id.
* ``onemap audit rotate [--days N]`` — archive the records older than N days (default
  ``ONEMAP_AUDIT_RETENTION_DAYS``) into ``<data dir>/audit/`` and delete them from the table.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from onemap.config import get_settings

#: What each CLI command that changes data is recorded as: command, or (command, its
#: subcommand) → action. Listing commands are not recorded.
CLI_ACTIONS: dict[str | tuple[str, str], str] = {
    "import": "import", "remove": "remove", "sample": "import", "feed": "feed",
    ("raster", "add"): "upload", ("raster", "remove"): "remove",
    ("users", "add"): "user_create", ("users", "disable"): "user_change",
    ("users", "enable"): "user_change", ("users", "change"): "user_change",
    ("users", "password"): "user_change", ("users", "remove"): "user_remove",
    ("keys", "create"): "key_create", ("keys", "revoke"): "key_revoke",
    "grant": "user_change", ("rules", "add"): "rule_change", ("rules", "remove"): "rule_change",
    ("hj212", "password"): "device_change",
}


def cli_action(args: argparse.Namespace) -> str | None:
    """The audit action of a parsed CLI command (None: it changes nothing). The subcommand is
    the value of the namespace's ``<command>_command`` attribute (``raster_command``)."""
    sub = getattr(args, f"{args.command}_command", None)
    return CLI_ACTIONS.get((args.command, sub) if sub else args.command)


def record_cli(args: argparse.Namespace, outcome: str, error: str = "") -> None:
    """Record a CLI command that changes data, as the SYSTEM principal with the operating
    system's user in the detail. The target is the dataset, user or key the command names;
    other arguments are not kept (one may be a password)."""
    action = cli_action(args)
    if action is None:
        return
    from onemap.access import audit
    from onemap.access.principal import SYSTEM

    target = next((str(v) for k in ("id", "user", "name", "key", "family", "file")
                   if (v := getattr(args, k, None))), "")
    sub = getattr(args, f"{args.command}_command", None)
    detail = {"command": " ".join(filter(None, [args.command, sub])), "os_user": os_user()}
    if error:
        detail["error"] = error[:500]
    try:
        audit.record(get_settings(), SYSTEM, action, target=target, outcome=outcome,
                     detail=detail)
    except Exception as exc:  # noqa: BLE001 (the change is made: say loudly it is unrecorded)
        print(f"onemap {args.command}: WARNING: not recorded in the audit trail: {exc}",
              file=sys.stderr)


def os_user() -> str:
    """Who runs the command on the server machine (for the record), or "" if unknown."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def add_parser(sub: Any) -> None:
    """Register ``audit`` on the CLI's subparsers."""
    p = sub.add_parser("audit", help="list, verify or rotate the audit trail")
    p.add_argument("what", nargs="?", choices=["list", "verify", "rotate"], default="list",
                   help="list records (default), verify the hash chain, rotate old records")
    p.add_argument("--user", help="only records of this user name")
    p.add_argument("--action", help="only this action, e.g. login_failed, remove")
    p.add_argument("--outcome", choices=["ok", "denied", "failed"])
    p.add_argument("--since", help="from this ISO 8601 time (UTC unless it says)")
    p.add_argument("--until", help="before this ISO 8601 time")
    p.add_argument("--limit", type=int, default=50, help="most records to show (50)")
    p.add_argument("--json", action="store_true", help="strict JSON lines, full records")
    p.add_argument("--expect", help="verify: a head hash noted earlier that must be in the chain")
    p.add_argument("--archive", nargs="+", type=Path, default=[],
                   help="verify: archive files (from rotate) instead of the database")
    p.add_argument("--days", type=int, help="rotate: archive records older than this")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from onemap.access import audit

    try:
        if args.what == "verify":
            return _verify(args)
        if args.what == "rotate":
            return _rotate(args)
        return _list(args)
    except audit.AuditError as exc:
        raise ValueError(str(exc)) from None  # the CLI's usage error: message, exit 2


def _list(args: argparse.Namespace) -> int:
    from onemap.access import audit

    records = audit.query(get_settings(), user=args.user, action=args.action,
                          outcome=args.outcome, since=args.since, until=args.until,
                          limit=args.limit)
    for rec in records:
        if args.json:
            print(json.dumps(audit.readable(rec), ensure_ascii=False, allow_nan=False))
        else:
            print(_line(rec))
    if not records and not args.json:
        print("no audit records match", file=sys.stderr)
    return 0


def _line(rec: dict[str, Any]) -> str:
    who = rec["user"] or "(anonymous)"
    if rec["key"]:
        who += f" [{rec['key']}]"
    where = f"{rec['method']} {rec['path']} → {rec['status']}" if rec["method"] else ""
    return (f"{rec['id']:>8} {rec['time'][:26]} {rec['address'] or '-':15} {who:24} "
            f"{rec['action']:14} {rec['outcome']:6} {rec['target']:24} {where}")


def _verify(args: argparse.Namespace) -> int:
    from onemap.access import audit, audit_archive

    if args.archive:
        verdicts = [(str(p), audit_archive.verify_archive(p, args.expect)) for p in args.archive]
    else:
        verdicts = [("the audit trail", audit.verify(get_settings(), args.expect))]
    broken = False
    for name, v in verdicts:
        if v.ok:
            print(f"{name}: {v.count} records verify; head record {v.last_id}, hash {v.last_hash}")
        else:
            broken = True
            where = f"record {v.broken_id}" if v.broken_id is not None else "the chain"
            print(f"{name}: BROKEN at {where}: {v.reason} (last good record {v.last_id}, "
                  f"hash {v.last_hash})", file=sys.stderr)
    return 1 if broken else 0


def _rotate(args: argparse.Namespace) -> int:
    from onemap.access import audit, audit_archive
    from onemap.access.principal import SYSTEM

    settings = get_settings()
    days = settings.audit_retention_days if args.days is None else args.days
    if days <= 0:
        raise ValueError("nothing to rotate: give --days N or set "
                         "ONEMAP_AUDIT_RETENTION_DAYS (0 keeps records forever)")
    done = audit_archive.rotate(settings, days)
    audit.record(settings, SYSTEM, "audit_rotate", target=str(done.path or ""),
                 detail={"days": days, "archived": done.count, "anchor_id": done.anchor_id,
                         "os_user": os_user()})
    if done.path is None:
        print(f"no audit records older than {days} days")
    else:
        print(f"archived {done.count} audit records older than {days} days to {done.path}")
    return 0
