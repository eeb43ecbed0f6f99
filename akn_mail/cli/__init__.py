"""The ``akn-mail`` command line: a thin skin over the library.

Each command group lives in its own module and is imported only when it is run, so that
``akn-mail --help`` and ``akn-mail search`` stay fast. Library errors (``AknError``) become
``Error: …`` with exit code 1 here, at the boundary, and nowhere else.
"""

from __future__ import annotations

import importlib

import click

from ..errors import AknError
from .app import App

# name -> "module:attribute"; the order is the order of ``akn-mail --help``.
COMMANDS = {
    "init": "akn_mail.cli.init:init",
    "roster": "akn_mail.cli.roster:roster",
    "member": "akn_mail.cli.member:member",
    "contact": "akn_mail.cli.contact:contact",
    "rotation": "akn_mail.cli.rotation:rotation",
    "serve": "akn_mail.cli.serve:serve",
    "queue": "akn_mail.cli.queue:queue",
    "held": "akn_mail.cli.held:held",
    "search": "akn_mail.cli.search:search",
    "archive": "akn_mail.cli.archive:archive",
    "remind": "akn_mail.cli.remind:remind",
    "templates": "akn_mail.cli.templates:templates",
    "tasks": "akn_mail.cli.tasks:tasks",
    "doctor": "akn_mail.cli.doctor:doctor",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _module_exists(COMMANDS[name])]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None or not _module_exists(target):
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AknError as error:
            raise click.ClickException(str(error)) from None


def _module_exists(target: str) -> bool:
    module_name = target.split(":")[0]
    return importlib.util.find_spec(module_name) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="AKN_MAIL_CONFIG",
    help="Config file (default: $AKN_MAIL_CONFIG, else ./akn-mail.toml, else built-in defaults).",
)
@click.version_option(package_name="akn-mail")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Mailing list and minutes archive of the AKN (Allianz für Klima und Nachhaltigkeit).

    \b
        akn-mail init
        akn-mail roster import roster.csv
        akn-mail serve
    """
    ctx.obj = App(config_path)


def main() -> None:
    cli(prog_name="akn-mail")
