"""``akn-mail serve``: run the list (ingress + delivery) until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio

import click

from akn_mail.cli.app import App


@click.command()
@click.option("--port", type=int, default=None, help="Listen on this port instead of [ingress] port.")
@click.option("--host", default=None, help="Listen on this address instead of [ingress] host.")
@click.pass_obj
def serve(app: App, port: int | None, host: str | None) -> None:
    """Receive mail for the list over SMTP (or LMTP) and deliver it to every contact.

    Stops cleanly on SIGTERM or Ctrl-C: nothing answered with 250 is lost; what is not
    delivered yet goes out on the next start.

    \b
        akn-mail serve
        AKN_MAIL_RELAY_HOST=smtp.example.org akn-mail serve --port 2525
    """
    from akn_mail import logs
    from akn_mail.delivery.deliverer import Deliverer
    from akn_mail.service import Service
    from akn_mail.delivery.signing import DkimSigner
    from akn_mail.notices.templating import require_valid

    config = app.data_config
    logs.setup(config)
    require_valid(config)  # a broken site template stops start-up here, not a delivery at 3 a.m.
    signer = DkimSigner.from_config(config)  # so does an unusable DKIM key (DkimError: one line)
    refusal = config.relay.unencrypted_auth()
    if refusal is not None:  # never send the relay password over the network in clear
        raise click.ClickException(refusal + ".")
    if port is not None:
        config.ingress.port = port
    if host is not None:
        config.ingress.host = host
    try:
        service = Service(config, setup_logging=True)  # creates the spool directory
    except OSError as error:
        raise click.ClickException(
            f"cannot create the spool directory {config.spool_dir}: {error.strerror}. "
            "Set [storage] data_dir to a writable place."
        ) from None
    click.echo(
        f"akn-mail: {config.ingress.protocol.upper()} for {config.list.address} on "
        f"{config.ingress.host}:{config.ingress.port}; data in {config.data_dir}", err=True,
    )
    click.echo(f"akn-mail: {Deliverer.describe_config(config)}", err=True)
    if signer is not None:
        click.echo(f"akn-mail: DKIM signing as {signer.selector}._domainkey.{signer.domain}", err=True)
    try:
        asyncio.run(service.serve_forever())
    except OSError as error:
        raise click.ClickException(
            f"cannot listen on {config.ingress.host}:{config.ingress.port}: {error.strerror}; "
            "choose another [ingress] port or stop the program using it."
        ) from None
