"""``akn-mail init``: write a commented config file and create the data directory."""

from __future__ import annotations

from pathlib import Path

import click

from akn_mail import config as config_module
from akn_mail import db
from akn_mail.cli.app import App


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.option(
    "--path",
    "target",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the config file (default: --config, else ./akn-mail.toml).",
)
@click.pass_obj
def init(app: App, force: bool, target: str | None) -> None:
    """Write a commented config file and create the data directory and database.

    Safe to run again: an existing config file is kept unless --force is given.

    \b
        akn-mail init
        akn-mail --config /etc/akn-mail/akn-mail.toml init
    """
    path = Path(target or app.config_path or config_module.DEFAULT_CONFIG_NAME)
    if path.exists() and not force:
        click.echo(f"Config file {path} exists; keeping it (use --force to overwrite).")
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(config_module.example_text(), encoding="utf-8")
        except OSError as error:
            raise click.ClickException(f"cannot write {path}: {error.strerror}. Choose another place with --path.") from None
        click.echo(f"Wrote {path}.")
    config = config_module.load(path)
    data_dir = config.data_dir
    try:
        # 0750: the archive and the roster are not for every user (akn-mail doctor checks this).
        data_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(f"cannot create data directory {data_dir}: {error.strerror}. Set [storage] data_dir to a writable place.") from None
    connection = db.connect(config.database_path)
    version = db.schema_version(connection)
    connection.close()
    click.echo(f"Data directory {data_dir} is ready (database schema version {version}).")
