"""``akn-mail roster``: import and export the whole roster (members and contacts)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from akn_mail.cli.app import App


@click.group()
def roster() -> None:
    """Import or export the roster of members and contacts (CSV or JSON).

    \b
        akn-mail roster import roster.csv
        akn-mail roster export --format json > roster.json
    """


@roster.command("import", short_help="Create or update members and contacts from a file.")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "file_format", type=click.Choice(["csv", "json"]), default=None,
              help="File format (default: from the file name or its content).")
@click.option("--dry-run", is_flag=True, help="Show every change the file would make, and change nothing.")
@click.pass_obj
def import_command(app: App, file: str, file_format: str | None, dry_run: bool) -> None:
    """Create or update members and contacts from FILE ('-' reads standard input).

    CSV columns: member,kind,hosts,contact_name,contact_email and optionally joined,left,
    separated by commas, semicolons or tabs; dates as YYYY-MM-DD or DD.MM.YYYY; kinds also
    in German (Kommune, Kreis, Beratung). The file is applied in one transaction: a broken
    file names every problem (up to 20) and imports nothing. A member name that is a typo
    of an existing member ("Korschenbroch") is refused with "Did you mean", never added.
    Every change is printed; members and contacts not in the file stay as they are.

    \b
        akn-mail roster import --dry-run roster.csv
        akn-mail roster import roster.csv
        akn-mail roster import --format json - < roster.json
    """
    from akn_mail.roster.roster_file import import_roster

    if file == "-":
        text, source = sys.stdin.read(), "<stdin>"
    else:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise click.ClickException(f"{file} does not exist; give the path of a roster CSV or JSON file.") from None
        except UnicodeDecodeError:
            raise click.ClickException(f"{file} is not UTF-8 text; save it as UTF-8 (CSV UTF-8) and try again.") from None
        except OSError as error:
            raise click.ClickException(f"cannot read {file}: {error.strerror}.") from None
        source = path.name
    with app.rotation.tracking(dry_run) as report:
        result = import_roster(app.roster, text, source, file_format)
    for change in result.changes:
        click.echo(f"  {change}")
    if dry_run:
        click.echo(f"Dry run of {source}: {result}. Nothing was changed.")
    else:
        click.echo(f"Imported {source}: {result}.")
    if report.changes:  # a first import sets up the rotation; later ones may move hosts
        for line in report.lines()[:-1] if dry_run else report.lines():
            click.echo(line)


@roster.command("export", short_help="Write the roster as CSV or JSON.")
@click.option("--format", "file_format", type=click.Choice(["csv", "json"]), default="csv", show_default=True,
              help="Output format; both can be imported again.")
@click.option("--excel", is_flag=True,
              help="CSV for German Excel: semicolons, a byte order mark and CRLF line ends (opens in columns).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Write to this file instead of standard output.")
@click.pass_obj
def export_command(app: App, file_format: str, excel: bool, output: str) -> None:
    """Write the roster as CSV or JSON; 'roster import' reads it back unchanged.

    JSON also carries every period of membership and the delivery state of each contact.

    \b
        akn-mail roster export > roster.csv
        akn-mail roster export --excel -o roster.csv
        akn-mail roster export --format json -o roster.json
    """
    from akn_mail.roster.roster_file import export_roster

    if excel and file_format != "csv":
        raise click.UsageError("--excel writes CSV; leave out --format json.")
    text = export_roster(app.roster, file_format, excel=excel)
    if output == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror}.") from None
    click.echo(f"Wrote {output}.", err=True)
