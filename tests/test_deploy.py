"""The deployment files agree with the program and with each other."""

from __future__ import annotations

import configparser
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from akn_mail import config as config_module

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def load_generator():
    spec = importlib.util.spec_from_file_location("make_config_example", DEPLOY / "make_config_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def test_config_example_is_up_to_date():
    expected = load_generator().text()
    actual = (DEPLOY / "akn-mail.toml.example").read_text(encoding="utf-8")
    assert actual == expected, "regenerate: python deploy/make_config_example.py > deploy/akn-mail.toml.example"


def test_config_example_loads_with_every_key(tmp_path):
    config = config_module.load(DEPLOY / "akn-mail.toml.example", environ={})
    assert config.ingress.protocol == "lmtp"
    assert (config.relay.host, config.relay.port) == ("127.0.0.1", 10025)
    assert str(config.data_dir) == "/var/lib/akn-mail"
    parsed = tomllib.loads((DEPLOY / "akn-mail.toml.example").read_text(encoding="utf-8"))
    assert set(parsed) == set(config_module.SECTIONS)


def test_service_unit_is_hardened_and_matches_the_config():
    service = unit("akn-mail.service")["Service"]
    config = config_module.load(DEPLOY / "akn-mail.toml.example", environ={})
    assert service["User"] == service["Group"] == "akn-mail"
    assert service["ExecStart"] == "/opt/akn-mail/venv/bin/akn-mail --config /etc/akn-mail/akn-mail.toml serve"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == str(config.data_dir)
    assert service["StateDirectory"] == config.data_dir.name
    assert service["NoNewPrivileges"] == "yes"
    assert service["PrivateTmp"] == "yes"
    assert service["Restart"] == "on-failure"
    # The remind job H4 ships runs the same program on the same data directory.
    remind = unit("akn-mail-remind.service")["Service"]
    assert remind["ReadWritePaths"] == service["ReadWritePaths"]
    assert remind["ExecStart"].split()[0] == service["ExecStart"].split()[0]
    for key in ("StateDirectory", "StateDirectoryMode", "UMask", "User", "Group"):
        assert remind[key] == service[key], key


def test_service_unit_verifies(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    executable = Path(sys.executable).parent / "akn-mail"
    names = ["akn-mail.service", "akn-mail-remind.service", "akn-mail-remind.timer"]
    for name in names:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/akn-mail/venv/bin/akn-mail", str(executable)))
    result = subprocess.run(["systemd-analyze", "verify", *names], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_postfix_examples_route_exactly_the_list_addresses_to_the_ingress_port():
    config = config_module.load(DEPLOY / "akn-mail.toml.example", environ={})
    transport = (DEPLOY / "postfix" / "akn-mail-transport.regexp").read_text(encoding="utf-8")
    recipients = (DEPLOY / "postfix" / "akn-mail-recipients.regexp").read_text(encoding="utf-8")
    [(pattern, target)] = re.findall(r"^/(.+)/\s+(\S+)$", transport, flags=re.MULTILINE)
    [(same_pattern, ok)] = re.findall(r"^/(.+)/\s+(\S+)$", recipients, flags=re.MULTILINE)
    assert same_pattern == pattern and ok == "OK"
    assert target == f"lmtp:inet:{config.ingress.host}:{config.ingress.port}"
    matches = re.compile(pattern).match
    for address in ("akn@lists.example", "akn-bounces@lists.example",
                    "akn-bounces+anna=dormagen.example@lists.example", "akn-owner@lists.example",
                    "akn-request@lists.example"):
        assert matches(address), address
    for address in ("akn-typo@lists.example", "akn@lists.example.org", "xakn@lists.example",
                    "akn-owner+x@lists.example", "postmaster@lists.example"):
        assert not matches(address), address
    master = (DEPLOY / "postfix" / "master.cf.example").read_text(encoding="utf-8")
    assert f"{config.relay.host}:{config.relay.port} inet" in master
    assert "smtpd_authorized_verp_clients=" in master


def test_version_is_written_once_and_the_package_reports_it():
    import importlib.metadata

    import akn_mail

    project = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "akn_mail.__version__"}
    assert importlib.metadata.version("akn-mail") == akn_mail.__version__


def test_sdist_carries_deploy_and_the_licence():
    manifest = (DEPLOY.parent / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
    assert "graft deploy" in manifest
    assert any(line.startswith("include ") and "LICENSE" in line.split() for line in manifest)
    licence = (DEPLOY.parent / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License")
    project = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"


def test_milter_examples_and_auth_settings_name_the_same_authserv_id():
    """OpenDKIM, OpenDMARC, the [auth] lines and the header_checks rule agree (issue 10)."""
    postfix = DEPLOY / "postfix"
    auth = (postfix / "main.cf.auth.example").read_text(encoding="utf-8")
    authserv_id = re.search(r'authserv_id = "([^"]+)"', auth).group(1)
    assert 'verify = "headers"' in auth
    for name in ("opendkim.conf.example", "opendmarc.conf.example"):
        text = (postfix / name).read_text(encoding="utf-8")
        assert re.search(rf"^AuthservID\s+{re.escape(authserv_id)}$", text, re.MULTILINE), name
    assert "inet:127.0.0.1:8891" in auth and "inet:8891@127.0.0.1" in (postfix / "opendkim.conf.example").read_text()
    assert "inet:127.0.0.1:8893" in auth and "inet:8893@127.0.0.1" in (postfix / "opendmarc.conf.example").read_text()
    rule = next(line for line in (postfix / "akn-mail-header-checks.regexp").read_text(encoding="utf-8").splitlines()
                if line.startswith("/"))
    pattern = rule[1:rule.rindex("/")].replace("[:space:]", r"\s")  # POSIX class, as Python writes it
    assert rule.endswith(" IGNORE")
    matches = re.compile(pattern).match
    assert matches(f"Authentication-Results: {authserv_id}; dmarc=pass header.from=dormagen.example")
    assert matches(f"Authentication-Results:{authserv_id};dkim=pass")
    assert not matches(f"Authentication-Results: {authserv_id}.evil.example; dmarc=pass")
    assert not matches("Authentication-Results: mail.dormagen.example; dkim=pass")
    # The loopback smtpd that takes akn-mail's fan-out runs neither milters nor header_checks.
    master = (postfix / "master.cf.example").read_text(encoding="utf-8")
    assert "-o smtpd_milters=\n" in master and "no_header_body_checks" in master
