"""Configuration: file, environment overrides, clear errors."""

from __future__ import annotations

import tomllib

import pytest

from akn_mail import config as config_module
from akn_mail.config import ConfigError


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AKN_MAIL_CONFIG", raising=False)
    config = config_module.load(None, environ={})
    assert config.path is None
    assert config.data_dir == tmp_path / "archive"
    assert config.ingress.protocol == "smtp"
    assert config.list_id == "akn.lists.example"
    assert config.bounce_address == "akn-bounces@lists.example"


def test_example_text_is_valid_toml_with_every_key():
    parsed = tomllib.loads(config_module.example_text())
    assert set(parsed) == set(config_module.SECTIONS)
    assert parsed["list"]["address"] == "akn@lists.example"
    assert parsed["ingress"]["protocol"] == "smtp"
    assert "host" in parsed["relay"] and "port" in parsed["relay"]
    assert parsed["storage"]["data_dir"] == "archive"


def test_environment_overrides_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[relay]\nhost = "smtp.example.org"\nport = 25\n', encoding="utf-8")
    config = config_module.load(path, environ={"AKN_MAIL_RELAY_PORT": "2525", "AKN_MAIL_LIST_ADMINS": "a@x.example, b@x.example"})
    assert config.relay.host == "smtp.example.org"
    assert config.relay.port == 2525
    assert config.list.admins == ["a@x.example", "b@x.example"]


def test_relative_data_dir_is_relative_to_config_file(tmp_path):
    path = tmp_path / "etc" / "c.toml"
    path.parent.mkdir()
    path.write_text('[storage]\ndata_dir = "../var"\n', encoding="utf-8")
    assert config_module.load(path, environ={}).data_dir.resolve() == (tmp_path / "var").resolve()


@pytest.mark.parametrize(
    "text, message",
    [
        ("[list]\naddress = \n", "line 2"),
        ("[nonsense]\n", "unknown section [nonsense]"),
        ("[relay]\nprot = 1\n", "unknown key 'prot' in [relay]"),
        ("[relay]\nport = \"x\"\n", "[relay] port must be a whole number"),
        ("[ingress]\nprotocol = \"pop3\"\n", "protocol must be \"smtp\" or \"lmtp\""),
    ],
)
def test_bad_config_names_the_problem(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        config_module.load(path, environ={})
    assert message in str(error.value)


def test_bad_environment_value(tmp_path):
    with pytest.raises(ConfigError, match="AKN_MAIL_INGRESS_PORT='many' is not a valid whole number"):
        config_module.load(None, environ={"AKN_MAIL_INGRESS_PORT": "many"})


@pytest.mark.parametrize("file_text, environ", [
    (None, {}),
    ('[storage]\ndata_dir = "data"\n', {}),
    ('[storage]\ndata_dir = "/srv/akn"\n', {}),
    ('[list]\naddress = "akn@lists.example"\n', {}),
    ('[storage]\ndata_dir = "data"\n', {"AKN_MAIL_STORAGE_DATA_DIR": "elsewhere"}),
    # Read without the TOML parser: comments, literal strings, other tables and keys.
    ('# AKN\n[list]\naddress = "akn@lists.example"  # the list\n\n[ storage ]\ndata_dir = \'daten\'  # here\n'
     '[archive]\nsynonyms_file = "syn.txt"\n', {}),
    ('[list]\ndescription = "data_dir = x"\n[storage]\ndata_dir = "this one"\n', {}),
    # Read by the TOML parser: escapes, dotted and quoted keys, inline tables, several lines.
    ('[storage]\ndata_dir = "d\\u00e4ten"\n', {}),
    ('storage.data_dir = "dotted"\n', {}),
    ('["storage"]\ndata_dir = "quoted"\n', {}),
    ('storage = { data_dir = "inline" }\n', {}),
    ('[list]\ndescription = """\n[storage]\ndata_dir = "no"\n"""\n[storage]\ndata_dir = "yes"\n', {}),
    ('[list]\nadmins = [\n  "a@example.org",\n  "b@example.org",\n]\n[storage]\ndata_dir = "after an array"\n', {}),
])
def test_the_search_client_finds_the_data_directory_the_configuration_names(tmp_path, monkeypatch, file_text, environ):
    """``akn-mail search`` looks for the server's socket with ``locate`` alone (without the
    full reader); it must land where ``config.load`` does, or it would ask another archive."""
    from akn_mail.locate import data_directory

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AKN_MAIL_CONFIG", raising=False)
    path = None
    if file_text is not None:
        (tmp_path / "etc").mkdir()
        path = tmp_path / "etc" / "akn-mail.toml"
        path.write_text(file_text, encoding="utf-8")
    assert data_directory(path, environ) == config_module.load(path, environ=environ).data_dir


@pytest.mark.parametrize("file_text", [
    '[storage]\n# old setting\u2028data_dir = "elsewhere"\n',   # a line break to Python, not to TOML
    '[storage]\nnote = "a\u2028data_dir = \'elsewhere\' # "\n',
    '[storage]\n# old\x85data_dir = "elsewhere"\n',
    '[storage]\n# x\x0cdata_dir = "elsewhere"\n',
    '[storage]\n# x\rdata_dir = "elsewhere"\n',
    '[storage]\ndata_dir = "a"\n[list]\n[storage]\n',              # a table twice
    '[list]\naddress = oops\n[storage]\ndata_dir = "a"\n',        # not a TOML value
    '[.storage]\ndata_dir = "a"\n',
    '[storage]\ndata_dir = "a"\n[storage.data_dir]\n',
    '[storage]\ndata_dir = "a\x01b"\n',
    '[storage]\n\u00a0data_dir = "a"\n',
])
def test_the_search_client_leaves_files_it_cannot_read_plainly_to_the_toml_parser(file_text):
    """Where the plain reader could read something else than TOML does (or read a broken
    file), it gives up, and the parser decides (and the command says what is wrong)."""
    from akn_mail.locate import _NotPlain, _plain_data_dir

    with pytest.raises(_NotPlain):
        _plain_data_dir(file_text)
