"""``onemap users|keys|grant|rules``: accounts, API keys, grants and read rules from the shell.

Whoever may run the command on the server machine owns the data dir already, so these act as
the system (no login). They call the same functions as ``/api/admin``. Secrets are shown once:
a generated password or a new API key is printed and never stored in clear; a password is read
from a prompt, from stdin (``--password-stdin``, for scripts), or generated when neither is
possible. Bad input raises ValueError (AccountError is one), which ``onemap`` prints and exits
2 on.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from onemap.access import accounts, bootstrap, rules, sessions
from onemap.access.principal import ROLES
from onemap.config import Settings, get_settings


def _password(args: argparse.Namespace, settings: Settings, user: str) -> tuple[str, bool]:
    """(the password, whether it was generated and must be printed)."""
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise ValueError("--password-stdin: no password on stdin")
        return line, False
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {user}: ")
        if first != getpass.getpass("again: "):
            raise ValueError("the two passwords differ")
        return first, False
    return bootstrap.generate_password(settings, user), True


def _cmd_users_add(args: argparse.Namespace) -> int:
    settings = get_settings()
    password, generated = (None, False) if args.no_password else _password(args, settings,
                                                                            args.name)
    user = accounts.add(settings, args.name, roles=args.role or ["viewer"], region=args.region,
                        password=password, display=args.display or "")
    where = f" in region {user.region}" if user.region else ""
    print(f"added user {user.name!r} ({', '.join(user.roles)}){where}")
    if generated:
        print(f"password: {password}  (shown once)")
    return 0


def _cmd_users_list(_args: argparse.Namespace) -> int:
    settings = get_settings()
    found = accounts.users(settings)
    if not found:
        print("no users: the server creates 'admin' at its first start, or run "
              "'onemap users add NAME --role admin'")
    for u in found:
        state = "disabled" if u.disabled else (f"locked until {u.locked_until}"
                                               if u.locked_until else "active")
        login = "password" if u.has_password else "keys only"
        live = len(sessions.sessions(settings, u.name))
        print(f"{u.name:20} {','.join(u.roles):28} {u.region or '-':8} {state:10} {login:9} "
              f"{live} session(s)  {u.display}")
    return 0


def _cmd_users_disable(args: argparse.Namespace) -> int:
    accounts.change(get_settings(), args.name, disabled=args.disable)
    print(f"{'disabled' if args.disable else 'enabled'} user {args.name!r}"
          + (" (their sessions ended; their keys stop working)" if args.disable else ""))
    return 0


def _cmd_users_password(args: argparse.Namespace) -> int:
    settings = get_settings()
    if accounts.get(settings, args.name) is None:
        raise accounts.NoSuchAccount(f"no user {args.name!r}")
    password, generated = _password(args, settings, args.name)
    accounts.change(settings, args.name, password=password)
    print(f"password of {args.name!r} changed (their sessions ended)")
    if generated:
        print(f"password: {password}  (shown once)")
    return 0


def _cmd_keys_create(args: argparse.Namespace) -> int:
    key, secret = accounts.create_key(get_settings(), args.user, args.name)
    print(f"created key {key.id} {key.name!r} for {key.user!r}; the key (shown once):")
    print(secret)
    return 0


def _cmd_keys_list(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.user and accounts.get(settings, args.user) is None:
        raise accounts.NoSuchAccount(f"no user {args.user!r}")
    found = accounts.keys(settings, args.user)
    if not found:
        print("no API keys: create one with 'onemap keys create USER NAME'")
    for k in found:
        state = f"revoked {k.revoked}" if k.revoked else f"last used {k.last_used or 'never'}"
        print(f"{k.id:14} {k.user:20} {k.name:24} created {k.created[:19]}  {state}")
    return 0


def _cmd_keys_revoke(args: argparse.Namespace) -> int:
    key = accounts.revoke_key(get_settings(), args.id)
    print(f"revoked key {key.id} {key.name!r} of {key.user!r}")
    return 0


def _cmd_grant(args: argparse.Namespace) -> int:
    if not args.role and args.region is None and not args.no_region:
        raise ValueError("give --role, --region or --no-region")
    region: str | None | bool = None if args.no_region else (args.region or False)
    user = accounts.change(get_settings(), args.user, roles=args.role or None, region=region)
    print(f"{user.name}: {', '.join(user.roles) or 'no role'}, "
          f"{'region ' + user.region if user.region else 'whole territory'}")
    return 0


def _cmd_rules_list(_args: argparse.Namespace) -> int:
    found = rules.load(get_settings(), fresh=True)
    if not found:
        print("no rules: the defaults apply (public to all, internal to viewers)")
    for r in found:
        print(f"{r.id:5} priority {r.priority:<6} {r.role:14} {r.dataset:28} "
              f"{'allow' if r.allow else 'deny':5}  {r.created_by}")
    return 0


def _cmd_rules_add(args: argparse.Namespace) -> int:
    rule = rules.add(get_settings(), role=args.role, dataset=args.dataset, allow=args.allow,
                     priority=args.priority, by="cli")
    print(f"added rule {rule.id}: {rule.role} {'may' if rule.allow else 'may not'} read "
          f"{rule.dataset} (priority {rule.priority})")
    return 0


def _cmd_rules_remove(args: argparse.Namespace) -> int:
    try:
        rule = rules.remove(get_settings(), args.id)
    except KeyError:
        raise ValueError(f"no rule {args.id}") from None
    print(f"removed rule {rule.id} ({rule.role} {rule.dataset})")
    return 0


def _password_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin (else a prompt, or "
                        "a generated one printed once when there is no terminal)")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The account commands, on ``onemap``'s sub-command parser."""
    users = sub.add_parser("users", help="add, list, disable or enable accounts; set passwords")
    usub = users.add_subparsers(dest="users_command", required=True)
    p = usub.add_parser("add", help="add an account")
    p.add_argument("name")
    p.add_argument("--role", action="append", choices=ROLES,
                   help="a role (repeat for several; default viewer)")
    p.add_argument("--region", help="adcode of the county or city the user is bound to")
    p.add_argument("--display", help="the person's full name")
    _password_options(p)
    p.add_argument("--no-password", action="store_true",
                   help="an account for API keys only (GIS clients, scripts)")
    p.set_defaults(func=_cmd_users_add)
    p = usub.add_parser("list", help="list accounts")
    p.set_defaults(func=_cmd_users_list)
    for verb in ("disable", "enable"):
        p = usub.add_parser(verb, help=f"{verb} an account"
                            + (" (ends its sessions, stops its keys)" if verb == "disable"
                               else ""))
        p.add_argument("name")
        p.set_defaults(func=_cmd_users_disable, disable=verb == "disable")
    p = usub.add_parser("password", help="set an account's password (ends its sessions)")
    p.add_argument("name")
    _password_options(p)
    p.set_defaults(func=_cmd_users_password)

    keys = sub.add_parser("keys", help="create, list or revoke API keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    p = ksub.add_parser("create", help="a new API key for USER, printed once")
    p.add_argument("user")
    p.add_argument("name", help="what the key is for, e.g. 'QGIS desktop'")
    p.set_defaults(func=_cmd_keys_create)
    p = ksub.add_parser("list", help="list keys (of USER)")
    p.add_argument("user", nargs="?")
    p.set_defaults(func=_cmd_keys_list)
    p = ksub.add_parser("revoke", help="revoke a key by its id")
    p.add_argument("id")
    p.set_defaults(func=_cmd_keys_revoke)

    p = sub.add_parser("grant", help="set a user's roles and region")
    p.add_argument("user")
    p.add_argument("--role", action="append", choices=ROLES,
                   help="a role (repeat for several); replaces the user's roles")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--region", help="bind the user to this county or city adcode")
    where.add_argument("--no-region", action="store_true",
                       help="unbind the user (the whole territory)")
    p.set_defaults(func=_cmd_grant)

    rule = sub.add_parser("rules", help="list, add or remove read rules")
    rsub = rule.add_subparsers(dest="rules_command", required=True)
    p = rsub.add_parser("list", help="the rules in the order they are tried")
    p.set_defaults(func=_cmd_rules_list)
    p = rsub.add_parser("add", help="allow or deny a role reading datasets")
    p.add_argument("--role", required=True, help="'*', 'anonymous' or a role name")
    p.add_argument("--dataset", required=True, help="a dataset id or a glob, e.g. pollution_*")
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--allow", dest="allow", action="store_true")
    verdict.add_argument("--deny", dest="allow", action="store_false")
    p.add_argument("--priority", type=int, default=100, help="lower is tried first")
    p.set_defaults(func=_cmd_rules_add)
    p = rsub.add_parser("remove", help="remove a rule by its id")
    p.add_argument("id", type=int)
    p.set_defaults(func=_cmd_rules_remove)
