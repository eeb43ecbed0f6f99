"""``akn-mail search`` answered by the warm searcher of ``serve`` over a Unix socket (issue 13).

The real command runs as a subprocess against a real SearchServer on a socket in the data
directory; its output must equal the in-process search's, and it must not import click or
Whoosh when the server answers.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from akn_mail.archive.filing import Archive
from akn_mail.archive.search_server import SearchServer, socket_path
from akn_mail.__main__ import read_search_arguments

from archive_support import mail, setup_roster


def command(config_file, *args, importtime=False):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AKN_MAIL_")}
    python = [sys.executable, "-X", "importtime"] if importtime else [sys.executable]
    return subprocess.run([*python, "-m", "akn_mail", "--config", str(config_file), "search", *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def filed(config, database):
    setup_roster(database)  # Dormagen hosts 2027-Q1
    archive = Archive(config, database)
    archive.file(mail("[Protokoll] Sitzung 2027-Q1", "TOP 1 Schulhofbegrünung\nDie Begrünung der Schulhöfe beginnt.",
                      message_id="m@test"))
    archive.file(mail("Schulhöfe", "Begrünung der Schulhöfe auch bei uns?", sender="dirk@kaarst.example",
                      message_id="p@test"))
    return archive


QUERIES = [
    ("Schulhofbegrünung",),
    ("Schulhofbegrünung", "--json", "--explain"),
    ("Begrünung", "--host", "Juechen"),
    ("Begrünung", "--host", "Dormagn"),          # an error with a suggestion
    ("Wärme AND (Hitze",),                       # a syntax error
    ("Begrünung", "--since", "2027-03-01", "--limit", "1", "--minutes"),
    ("PV", "--explain"),
]


def test_server_answers_with_the_same_output_as_in_process(config, config_file, filed):
    in_process = [command(config_file, *query) for query in QUERIES]
    server = SearchServer(config).start()
    try:
        assert socket_path(config.data_dir).exists()
        assert oct(socket_path(config.data_dir).stat().st_mode & 0o777) == "0o600"
        served = [command(config_file, *query) for query in QUERIES]
        traced = command(config_file, "Schulhofbegrünung", importtime=True)
    finally:
        server.stop()
    for query, local, remote in zip(QUERIES, in_process, served):
        assert (remote.returncode, remote.stdout, remote.stderr) == (local.returncode, local.stdout, local.stderr), query
    assert "Sitzung 2027-Q1" in served[0].stdout and served[3].returncode == 1
    assert served[3].stderr.startswith("Error: no member named") and served[3].stderr.count("\n") == 1
    imported = {line.split("|")[-1].strip() for line in traced.stderr.splitlines() if line.startswith("import time:")}
    assert not {"click", "whoosh", "akn_mail.cli"} & imported
    assert not socket_path(config.data_dir).exists()  # removed on stop


def test_without_a_server_the_command_searches_itself(config, config_file, filed):
    # A socket file left behind by a crashed server: nobody listens, the command falls back.
    socket_path(config.data_dir).touch()
    result = command(config_file, "Schulhofbegrünung")
    assert result.returncode == 0 and "Sitzung 2027-Q1" in result.stdout


@pytest.mark.parametrize("argv, expected", [
    (["search", "Lärm", "Schutz"], (None, {"query": "Lärm Schutz"})),
    (["--config", "a.toml", "search", "--json", "--limit=5", "x"], ("a.toml", {"as_json": True, "limit": 5, "query": "x"})),
    (["search", "--from", "anna@x", "--", "-minus"], (None, {"sender": "anna@x", "query": "-minus"})),
    (["search", "--help"], None),
    (["search", "--limit", "0", "x"], None),
    (["search"], None),
    (["archive", "list"], None),
    (["--version"], None),
])
def test_the_fast_reader_takes_only_plain_search_lines(argv, expected, monkeypatch):
    monkeypatch.delenv("AKN_MAIL_CONFIG", raising=False)
    assert read_search_arguments(argv) == expected
