"""The metadata schema from the command line: `python -m recovery_platform.metadata migrate`.

Every job migrates the metadata by itself when it starts, so nothing is required of an operator.
This command is for before an upgrade goes live: `--dry-run` shows the lakehouse's schema version
and each pending step without writing anything (no Dagster instance needed), and without it the
steps are applied outside any run, under the same lease the jobs use.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from recovery_platform.defs.resources import ENGINES, LakehouseResource
from recovery_platform.domain.lakehouse.errors import MetadataSchemaError
from recovery_platform.domain.lakehouse.migrations import migrate, schema_status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recovery_platform.metadata",
                                     description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("migrate", help="bring the metadata tables to this release")
    command.add_argument("--dry-run", action="store_true",
                         help="show the schema version and the pending steps; write nothing")
    command.add_argument("--root", help="lakehouse root (default: RECOVERY_LAKEHOUSE_ROOT, "
                                        "else <repo>/.demo/lakehouse)")
    command.add_argument("--engine", choices=ENGINES,
                         help="storage engine (default: RECOVERY_ENGINE, else deltars)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when up to date (or a dry run), 1 when a step failed, 2 when refused."""
    args = _parser().parse_args(argv)
    settings = {k: v for k, v in {"root": args.root, "engine": args.engine}.items() if v}
    lakehouse = LakehouseResource(**settings).lakehouse()
    status = schema_status(lakehouse)
    print(f"lakehouse {lakehouse.root}: {status.describe()}")
    if status.too_new:
        return 2
    if args.dry_run or (not status.pending and not status.is_new):
        return 0
    try:
        migrate(lakehouse, run_id="")
    except MetadataSchemaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"migrated to schema version {status.latest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
