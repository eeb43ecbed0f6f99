"""``akn-mail doctor``: check an installation, one line per check, with a fix for each failure."""

from __future__ import annotations

import json

import click

from akn_mail.config import ConfigError
from akn_mail.cli.app import App


@click.command()
@click.option("--no-dns", is_flag=True, help="Do not look up the list domain's MX, SPF and DMARC records.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for the relay and DNS.")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON: {ok, checks: [{name, status, detail, fix}]}.")
@click.pass_obj
def doctor(app: App, no_dns: bool, timeout: float, as_json: bool) -> None:
    """Check the installation: config, data, service, relay, queue, DNS.

    One line per check (config, data directory, database schema, search index,
    templates, ingress, relay, queue, contacts, DNS) with a fix for each failure.
    Changes nothing. Exits with 1 if any check fails (warnings do not count), so it
    can run after an upgrade or from monitoring.

    \b
        akn-mail doctor
        akn-mail --config /etc/akn-mail/akn-mail.toml doctor --no-dns
        sudo -u akn-mail akn-mail doctor --json
    """
    from akn_mail import doctor as doctor_module

    try:
        config = app.config
    except ConfigError as error:
        checks = [doctor_module.config_error(str(error))]
    else:
        checks = doctor_module.run_checks(config, dns=not no_dns, timeout=timeout)
    code = doctor_module.exit_code(checks)
    if as_json:
        click.echo(json.dumps({"ok": code == 0, "checks": [check.as_dict() for check in checks]}, ensure_ascii=False, indent=2))
    else:
        for check in checks:
            click.echo(check.line())
    raise SystemExit(code)
