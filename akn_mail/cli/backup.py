"""``akn-mail backup`` and ``akn-mail restore``: the whole installation in one .tar.gz."""

from __future__ import annotations

from pathlib import Path

import click

from akn_mail.cli.app import App


@click.command()
@click.argument("path", metavar="FILE.tar.gz", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--verify", "check_only", is_flag=True, help="Check an existing backup instead of writing one.")
@click.pass_obj
def backup(app: App, path: Path, check_only: bool) -> None:
    """Back up database, archive, spool, held mail, config and templates (safe while serve runs).

    The search index is not included: restore rebuilds it.

    \b
        akn-mail backup /var/backups/akn-mail/akn-mail-$(date +%F).tar.gz
        akn-mail backup --verify /var/backups/akn-mail/akn-mail-2026-11-30.tar.gz
    """
    from akn_mail.records import backup as backups

    if check_only:
        manifest = backups.verify(path)
        click.echo(f"OK: {path}: {manifest.summary()}.")
        return
    manifest = backups.create(app.data_config, path)
    click.echo(f"Wrote {path}: {manifest.summary()}.")


@click.command()
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--to", "target", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="New or empty directory to restore into.")
@click.pass_obj
def restore(app: App, path: Path, target: Path) -> None:
    """Verify a backup and restore it into a new directory; rebuilds the search index.

    DIR gets akn-mail.toml (the saved config, paths pointed into DIR), data/ and templates/.

    \b
        akn-mail restore akn-mail-2026-11-30.tar.gz --to /var/lib/akn-mail-restored
        akn-mail --config /var/lib/akn-mail-restored/akn-mail.toml doctor
    """
    from akn_mail.records import backup as backups

    manifest, config_path, indexed = backups.restore(path, target)
    click.echo(f"Restored {manifest.summary()}.")
    click.echo(f"Indexed {indexed} message{'s' if indexed != 1 else ''}. Config: {config_path}")
    click.echo(f"Check it with: akn-mail --config {config_path} doctor")
