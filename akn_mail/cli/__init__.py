"""The ``akn-mail`` command line: a thin skin over the library.

Each command group lives in its own module and is imported only when it is run, so that
``akn-mail --help`` and ``akn-mail search`` stay fast. Library errors (``AknError``) become
``Error: …`` with exit code 1 here, at the boundary, and nowhere else.
"""

from __future__ import annotations

import importlib

import click

from akn_mail.errors import AknError
from akn_mail.cli.app import App

# name -> ("module:attribute", one-line summary); the order is the order of ``akn-mail --help``.
# The summaries are here so that ``--help`` lists the commands without importing any of them
# (tests/test_cli_help.py checks that each matches its command's own help).
COMMANDS = {
    "init": ("akn_mail.cli.init:init", "Write a commented config file and create the data directory."),
    "roster": ("akn_mail.cli.roster:roster", "Import or export the roster of members and contacts."),
    "member": ("akn_mail.cli.member:member", "List, add and change members."),
    "contact": ("akn_mail.cli.contact:contact", "Add, remove, move and list contacts."),
    "recipient": ("akn_mail.cli.recipient:recipient", "Read-only recipients of a member: they get the minutes and results, never post."),
    "rotation": ("akn_mail.cli.rotation:rotation", "Show and shape the host rotation."),
    "meeting": ("akn_mail.cli.meeting:meeting", "Invite every contact to a meeting, collect its agenda, and see who comes."),
    "serve": ("akn_mail.cli.serve:serve", "Receive mail for the list over SMTP (or LMTP) and deliver it to every contact."),
    "queue": ("akn_mail.cli.queue:queue", "Show waiting and failed deliveries; retry them now."),
    "held": ("akn_mail.cli.held:held", "List, show, approve, reject or discard held mail."),
    "search": ("akn_mail.cli.search:search", "Search the archive."),
    "archive": ("akn_mail.cli.archive:archive", "The archive of every post and the minutes of every meeting."),
    "results": ("akn_mail.cli.results:results", "Decisions and tasks from the minutes, tracked until done."),
    "remind": ("akn_mail.cli.remind:remind", "Send the reminders due today."),
    "report": ("akn_mail.cli.report:report", "Write the Jahresbericht of YEAR: meetings and hosts, topics, decisions, tasks, members, posts."),
    "templates": ("akn_mail.cli.templates:templates", "Check, list and preview the mail templates."),
    "tasks": ("akn_mail.cli.tasks:tasks", "List admin tasks that arrived by mail and mark them done."),
    "backup": ("akn_mail.cli.backup:backup", "Back up database, archive, spool, held mail, config and templates (safe while serve runs)."),
    "restore": ("akn_mail.cli.backup:restore", "Verify a backup and restore it into a new directory; rebuilds the search index."),
    "person": ("akn_mail.cli.person:person", "Export or erase what is stored about one person (DSGVO)."),
    "dkim": ("akn_mail.cli.dkim:dkim", "Create the key the list signs its mail with (DKIM)."),
    "doctor": ("akn_mail.cli.doctor:doctor", "Check the installation: config, data, service, relay, queue, DNS."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands from the table, without importing them (click would import all)."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AknError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="AKN_MAIL_CONFIG",
    help="Config file (default: $AKN_MAIL_CONFIG, else ./akn-mail.toml, else built-in defaults).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show the log lines of the command (INFO and warnings) on stderr.")
@click.version_option(package_name="akn-mail")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Mailing list and minutes archive of the AKN (Allianz für Klima und Nachhaltigkeit).

    \b
        akn-mail init
        akn-mail roster import roster.csv
        akn-mail serve
    """
    from akn_mail import logs

    logs.setup_cli(verbose)  # command output never carries log lines; -v shows them on stderr
    ctx.obj = App(config_path)


def main() -> None:
    cli(prog_name="akn-mail")
