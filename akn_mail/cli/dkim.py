"""``akn-mail dkim``: the key the list signs its mail with."""

from __future__ import annotations

from pathlib import Path

import click

from akn_mail.cli.app import App


@click.group()
def dkim() -> None:
    """Create the key the list signs its mail with (DKIM).

    \b
        akn-mail dkim keygen --selector akn2026 --out /etc/akn-mail/dkim.key
    """


@dkim.command("keygen")
@click.option("--selector", required=True, help="Selector (s=), e.g. akn2026: the record goes to SELECTOR._domainkey.DOMAIN.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write the private key to (mode 0600; an existing file is never overwritten).")
@click.option("--domain", default=None, help="Signing domain (d=); default [dkim] domain, else the list's domain.")
@click.pass_obj
def keygen(app: App, selector: str, out: Path, domain: str | None) -> None:
    """Write a new RSA-2048 private key and print the DNS TXT record to publish.

    \b
        akn-mail dkim keygen --selector akn2026 --out /etc/akn-mail/dkim.key
    """
    from akn_mail.delivery.signing import SELECTOR, generate_key, zone_line

    if not SELECTOR.match(selector):
        raise click.ClickException(f"--selector {selector!r} is not a DNS label; use letters, digits and '-', e.g. akn2026.")
    domain = (domain or app.config.dkim.domain or app.config.list_domain).lower()
    pem = generate_key(out)
    click.echo(f"Wrote an RSA-2048 private key to {out} (mode 0600).")
    click.echo("Publish this TXT record in DNS:")
    click.echo()
    click.echo(zone_line(selector, domain, pem))
    click.echo()
    click.echo("Then set in the config file and restart akn-mail serve:")
    click.echo()
    click.echo("[dkim]")
    click.echo(f'domain = "{domain}"')
    click.echo(f'selector = "{selector}"')
    click.echo(f'key_file = "{out.resolve()}"')
