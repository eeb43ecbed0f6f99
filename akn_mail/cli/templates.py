"""``akn-mail templates``: list, show and check the templates of the mails the system writes."""

from __future__ import annotations

import click

from akn_mail.cli.app import App


@click.group()
def templates() -> None:
    """Check, list and preview the mail templates (shipped and site overrides).

    \b
        akn-mail templates check
        akn-mail templates list
        akn-mail templates show welcome --language en
    """


@templates.command("check")
@click.pass_obj
def check(app: App) -> None:
    """Render every template (shipped and overridden) with sample values; report broken ones.

    Exits 1 and names file and line of every template that does not render.

    \b
        akn-mail templates check
    """
    from akn_mail.notices.templating import TEMPLATES, check_all

    problems = check_all(app.config)
    for problem in problems:
        click.echo(f"{problem.language}: {problem}", err=True)
    if problems:
        raise click.ClickException(
            f"{len(problems)} template(s) do not render; fix the file(s) named above or remove the override."
        )
    directory = app.config.templates.directory
    where = f" (site overrides from {app.config.resolve(directory)})" if directory else ""
    click.echo(f"All {len(TEMPLATES)} templates render in de and en{where}.")


@templates.command("list")
@click.pass_obj
def list_templates(app: App) -> None:
    """List every template, what it is for, and the file used (site or shipped).

    \b
        akn-mail templates list
    """
    from akn_mail.notices.templating import TEMPLATES, Templates

    loaded = Templates(app.config)
    for name, info in TEMPLATES.items():
        click.echo(f"{name:<20} {loaded.source_of(name)}")
        click.echo(f"{'':<20} {info.purpose}; variables: list{''.join(', ' + v for v in info.variables)}")


@templates.command("show")
@click.argument("name")
@click.option("--language", type=click.Choice(["de", "en"]), default=None, help="Language (default: [list] language).")
@click.pass_obj
def show(app: App, name: str, language: str | None) -> None:
    """Print template NAME rendered with sample values, as the mail would read.

    \b
        akn-mail templates show host_reminder
    """
    from akn_mail.notices.template_samples import sample_variables
    from akn_mail.notices.templating import TEMPLATES, Templates
    from akn_mail.text import closest

    if name not in TEMPLATES:
        suggestion = closest(name, list(TEMPLATES))
        hint = f" Did you mean {suggestion}?" if suggestion else ""
        raise click.ClickException(f"no template called {name!r}.{hint} See 'akn-mail templates list'.")
    loaded = Templates(app.config, language)
    rendered = loaded.render(name, **sample_variables(name, loaded.language))
    if rendered.subject:
        click.echo(f"Subject: {rendered.subject}\n")
    click.echo(rendered.body, nl=False)
