"""`dspex-gql export-schema [-o FILE]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_commands(commands: Any) -> None:
    export = commands.add_parser(
        "export-schema",
        help="print the GraphQL schema (SDL)",
        description="Print the GraphQL schema in SDL, as schema.graphql holds it.",
    )
    export.add_argument("-o", "--output", type=Path, help="write to a file instead of stdout")
    export.set_defaults(command=_export_schema)


def _export_schema(args: argparse.Namespace) -> None:
    from dspex_gql.graphql.schema import schema_sdl

    sdl = schema_sdl()
    if args.output is None:
        sys.stdout.write(sdl)
    else:
        args.output.write_text(sdl)
