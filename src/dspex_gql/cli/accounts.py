"""Organizations and API keys: create-org, set-quota, create-key, list-keys, revoke-key."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from dspex_gql.cli.arguments import seconds, seconds_or_none
from dspex_gql.config import Settings


def add_commands(commands: Any) -> None:
    org = commands.add_parser(
        "create-org",
        help="create an organization and its first admin",
        description="Create an organization, its first ADMIN and the admin's first API key "
        "(printed once).",
    )
    org.add_argument("name", help="the organization's name (its slug is made from it)")
    org.add_argument("--admin-email", required=True, help="the first admin's email")
    org.add_argument("--admin-name", default="Admin", help="the first admin's name")
    org.add_argument(
        "--compute-quota-seconds", type=seconds, help="compute allowed (default: unlimited)"
    )
    org.set_defaults(command=_create_org)

    quota = commands.add_parser(
        "set-quota",
        help="set an organization's compute quota",
        description="Set the seconds of compute an organization's runs may use.",
    )
    quota.add_argument("slug", help="the organization's slug")
    quota.add_argument(
        "seconds", type=seconds_or_none, help="seconds of compute, or 'none' for unlimited"
    )
    quota.set_defaults(command=_set_quota)

    create = commands.add_parser(
        "create-key",
        help="create an API key in an organization (printed once)",
        description="Create an API key and print it once; only its hash is stored.",
    )
    create.add_argument("slug", help="the organization's slug")
    create.add_argument("--name", required=True, help="what the key is for, e.g. 'ci'")
    create.add_argument(
        "--user", metavar="EMAIL", help="whose key it is (default: the oldest active admin)"
    )
    create.add_argument(
        "--expires-in-days", type=_days, help="it stops working after this (default: never)"
    )
    create.set_defaults(command=_create_key)

    listing = commands.add_parser(
        "list-keys",
        help="list an organization's API keys",
        description="List an organization's API keys (never their secrets).",
    )
    listing.add_argument("slug", help="the organization's slug")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(command=_list_keys)

    revoke = commands.add_parser(
        "revoke-key",
        help="revoke an API key; every replica refuses it at once",
        description="Revoke an API key. With a shared DSPEX_BROADCAST_URL (redis://, "
        "postgres://) every running replica refuses it from the next request on.",
    )
    revoke.add_argument("slug", help="the organization's slug")
    revoke.add_argument("key", help="the key's id, its prefix, or the whole key")
    revoke.set_defaults(command=_revoke_key)


def _create_org(args: argparse.Namespace) -> None:
    from dspex_gql.accounts import admin

    created = asyncio.run(
        admin.create_org(
            Settings(), args.name, args.admin_email, args.admin_name, args.compute_quota_seconds
        )
    )
    print(f"Organization: {created.organization.name} ({created.organization.slug})")
    print(f"Admin API key: {created.admin_key}")


def _set_quota(args: argparse.Namespace) -> None:
    from dspex_gql.accounts import admin

    asyncio.run(admin.set_quota(Settings(), args.slug, args.seconds))
    shown = "unlimited" if args.seconds is None else f"{args.seconds:g} s"
    print(f"Compute quota of {args.slug}: {shown}")


def _create_key(args: argparse.Namespace) -> None:
    from dspex_gql.accounts import admin
    from dspex_gql.db.base import utcnow

    days = args.expires_in_days
    expires_at = None if days is None else utcnow() + timedelta(days=days)
    new = asyncio.run(admin.create_key(Settings(), args.slug, args.name, args.user, expires_at))
    print(f"Key {new.key.id} ({new.key.name!r}) of {new.owner.email}, prefix {new.key.prefix}")
    print(f"API key: {new.secret}")


def _list_keys(args: argparse.Namespace) -> None:
    from dspex_gql.accounts import admin

    keys = asyncio.run(admin.list_keys(Settings(), args.slug))
    rows = [
        {
            "id": str(key.id),
            "name": key.name,
            "owner": owner.email,
            "prefix": key.prefix,
            "created": _when(key.created_at),
            "last_used": _when(key.last_used_at),
            "expires": _when(key.expires_at),
            "revoked": _when(key.revoked_at),
        }
        for key, owner in keys
    ]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    _print_table(rows)


def _revoke_key(args: argparse.Namespace) -> None:
    from dspex_gql.accounts import admin

    key = asyncio.run(admin.revoke_key(Settings(), args.slug, args.key))
    print(f"Revoked key {key.id} ({key.name!r}), prefix {key.prefix}")


def _days(text: str) -> float:
    days = seconds(text)
    if days == 0:
        raise argparse.ArgumentTypeError(f"a number of days above 0, got {text!r}")
    return days


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def _print_table(rows: list[dict[str, str | None]]) -> None:
    columns = ["id", "name", "owner", "prefix", "created", "last_used", "expires", "revoked"]
    cells = [[column.upper().replace("_", " ") for column in columns]]
    cells += [[row[column] or "-" for column in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        padded = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print("  ".join(padded).rstrip())
