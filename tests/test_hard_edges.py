"""Small hard edges (issue 10, item 8): relay AUTH in clear, template sandbox."""

from __future__ import annotations

import jinja2
import pytest
from click.testing import CliRunner

from akn_mail import config as config_module
from akn_mail.cli import cli
from akn_mail.notices.templating import make_environment

from conftest import free_port


def write_config(tmp_path, relay: str) -> str:
    path = tmp_path / "akn-mail.toml"
    path.write_text(
        '[list]\naddress = "akn@lists.example"\nadmins = ["admin@rhein-kreis-neuss.example"]\n'
        f'[storage]\ndata_dir = "data"\n[ingress]\nport = {free_port()}\n[relay]\n{relay}',
        encoding="utf-8",
    )
    return str(path)


CLEAR_AUTH = 'host = "smtp.kreis.example"\nport = 587\nusername = "akn"\nstarttls = false\n'
REFUSAL = ("[relay] username is set but starttls is off, so the relay password would go to smtp.kreis.example in "
           "clear; set [relay] starttls = true (or use a relay on 127.0.0.1)")


def test_serve_refuses_to_start_with_auth_in_clear_to_a_remote_relay(tmp_path):
    path = write_config(tmp_path, CLEAR_AUTH)
    result = CliRunner().invoke(cli, ["--config", path, "serve"])
    assert (result.exit_code, result.output) == (1, f"Error: {REFUSAL}.\n")


def test_doctor_fails_auth_in_clear_to_a_remote_relay_without_connecting(tmp_path):
    path = write_config(tmp_path, CLEAR_AUTH)
    result = CliRunner().invoke(cli, ["--config", path, "doctor", "--no-dns"])
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if line[6:17].strip() == "relay"]
    assert line == ("FAIL  relay      [relay] username is set but starttls is off, so the relay password would go to "
                    "smtp.kreis.example in clear. Fix: set [relay] starttls = true (or use a relay on 127.0.0.1).")


@pytest.mark.parametrize("relay, refused", [
    (CLEAR_AUTH, True),
    (CLEAR_AUTH.replace("starttls = false", "starttls = true"), False),
    (CLEAR_AUTH.replace("smtp.kreis.example", "127.0.0.1"), False),
    (CLEAR_AUTH.replace("smtp.kreis.example", "::1"), False),
    (CLEAR_AUTH.replace("smtp.kreis.example", "localhost"), False),
    (CLEAR_AUTH.replace('username = "akn"\n', ""), False),
])
def test_only_auth_in_clear_over_the_network_is_refused(tmp_path, relay, refused):
    config = config_module.load(write_config(tmp_path, relay))
    assert (config.relay.unencrypted_auth() is not None) is refused


def test_templates_render_in_a_sandbox(tmp_path):
    environment = make_environment([tmp_path], "de")
    assert environment.from_string("{{ name|upper }}").render(name="jüchen") == "JÜCHEN"
    with pytest.raises(jinja2.exceptions.SecurityError):
        environment.from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}").render()
