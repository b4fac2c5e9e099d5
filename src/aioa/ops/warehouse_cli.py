"""`aioa warehouse rekey`: the DuckDB warehouse's encryption at rest (heavy imports inside the command)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

warehouse_app = typer.Typer(
    help="The DuckDB warehouse's encryption at rest (AIOA_WAREHOUSE_KEY): rekey.", no_args_is_help=True
)


@warehouse_app.command("rekey")
def rekey_command(
    new_key_file: Annotated[
        Path | None,
        typer.Option("--new-key-file", help="File holding the new key (`-`: read it from standard input)."),
    ] = None,
    decrypt: Annotated[bool, typer.Option("--decrypt", help="Write the files in the clear (no new key).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """Re-encrypt the warehouse, its snapshots and the archive with a new key; the old key is the configured one
    (none: the files are encrypted for the first time). Stop the pipeline first; then set the new key on every host."""
    from aioa.settings import get_settings
    from aioa.warehouse.encryption import WarehouseKeyError
    from aioa.warehouse.rekey import rekey

    if decrypt == (new_key_file is not None):
        typer.echo("Give exactly one of --new-key-file FILE and --decrypt.", err=True)
        raise typer.Exit(2)
    new_key = None
    if new_key_file is not None:
        new_key = (sys.stdin.read() if str(new_key_file) == "-" else new_key_file.read_text()).strip()
    try:
        report = rekey(get_settings(), new_key)
    except WarehouseKeyError as error:
        typer.echo(f"Not rekeyed: {error}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    state = "encrypted with the new key" if report.encrypted else "decrypted (stored in the clear)"
    typer.echo(
        f"{len(report.files)} file(s) {state}: {report.tables} tables, {report.rows:,} rows, each checked against "
        f"its source ({report.seconds:.1f} s); {report.archive_files} archive Parquet file(s), "
        f"{report.archive_rows:,} rows."
    )
    typer.echo(
        "Now set the new key (AIOA_WAREHOUSE_KEY or AIOA_WAREHOUSE_KEY_FILE) on every host and restart them; keep "
        "the old key as long as backups made with it are kept."
        if report.encrypted
        else "Now unset AIOA_WAREHOUSE_KEY / AIOA_WAREHOUSE_KEY_FILE on every host and restart them."
    )
