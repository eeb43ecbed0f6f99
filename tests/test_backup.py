"""akn-mail backup / backup --verify / restore, with a real server receiving posts meanwhile."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time

import pytest
from click.testing import CliRunner

from akn_mail import config as config_module
from akn_mail import db as db_module
from akn_mail.archive.filing import Archive
from akn_mail.cli import cli
from akn_mail.roster.rotation import Rotation

from service_support import WAIT, Relay, StaticResolver, ThreadedService, configure, load_roster, post, send


def run(config_file, *args):
    return CliRunner().invoke(cli, ["--config", str(config_file), *args], catch_exceptions=False)


def archived_ids(config) -> set[str]:
    connection = db_module.connect(config.database_path)
    try:
        return {row[0] for row in connection.execute("SELECT message_id FROM archived_messages")}
    finally:
        connection.close()


def wait_until(predicate, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def relay():
    relay = Relay().start()
    yield relay
    relay.stop()


def test_backup_while_posts_arrive_restores_everything_answered_before_it(config, config_file, relay, tmp_path):
    contacts = load_roster(config)
    connection = db_module.connect(config.database_path)
    Rotation(connection).set_start("2027-Q1")
    connection.close()
    configure(config, relay)
    service = ThreadedService(config, resolver=StaticResolver()).start()
    sender = contacts[0]
    before = []
    try:
        for number in range(20):
            message_id = f"<vorher-{number}@dormagen.example>"
            assert send(service.port, sender, ["akn@lists.example"],
                        post(f"Wärmeplanung Teil {number}", sender=sender, message_id=message_id,
                             body=f"Kommunale Wärmeplanung, Abschnitt {number}.\r\n")) == {}
            before.append(message_id.strip("<>"))
        # Posts keep arriving while the backup runs.
        stop = threading.Event()
        during: list[str] = []

        def keep_posting():
            number = 0
            while not stop.is_set():
                message_id = f"<waehrend-{number}@dormagen.example>"
                send(service.port, sender, ["akn@lists.example"],
                     post(f"Radverkehr {number}", sender=sender, message_id=message_id, body="Radwege.\r\n"))
                during.append(message_id)
                number += 1

        poster = threading.Thread(target=keep_posting)
        poster.start()
        try:
            wait_until(lambda: len(during) >= 3)
            backup_file = tmp_path / "sicherung.tar.gz"
            result = run(config_file, "backup", str(backup_file))
        finally:
            stop.set()
            poster.join(WAIT)
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"Wrote {backup_file}: ")
        assert wait_until(lambda: set(before) <= archived_ids(config))
    finally:
        service.stop()

    verified = run(config_file, "backup", "--verify", str(backup_file))
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith(f"OK: {backup_file}: ")

    target = tmp_path / "wiederhergestellt"
    restored = run(config_file, "restore", str(backup_file), "--to", str(target))
    assert restored.exit_code == 0, restored.output
    restored_config_file = target / "akn-mail.toml"
    assert f"Config: {restored_config_file}" in restored.output
    restored_config = config_module.load(restored_config_file, environ={})
    assert restored_config.data_dir == target / "data"
    assert not (target / "data" / "index").exists() or restored_config.index_dir == target / "data" / "index"

    # Roster and rotation are the same.
    for args in (("contact", "list", "--json"), ("member", "list", "--json"), ("rotation", "show", "--json")):
        original, copy = run(config_file, *args), run(restored_config_file, *args)
        assert (original.exit_code, copy.exit_code) == (0, 0)
        assert json.loads(copy.output) == json.loads(original.output), args

    # A restored server processes what was still in the spool; then every post answered 250
    # before the backup began is in the archive.
    configure(restored_config, None)
    again = ThreadedService(restored_config, resolver=StaticResolver()).start()
    try:
        assert wait_until(lambda: set(before) <= archived_ids(restored_config))
    finally:
        again.stop()

    # Search gives the same results for the posts answered before the backup (the original
    # also has posts that arrived later; either may hold posts still in its spool).
    answered = set(before)
    for each in (config, restored_config):
        # A stopped server may leave its last posts for the next start's indexer: index them now.
        connection = db_module.connect(each.database_path)
        try:
            Archive(each, connection).index_pending()
        finally:
            connection.close()
    for query in ("Wärmeplanung", "Abschnitt 7", "Waermeplanung"):
        original = [hit["message_id"] for hit in
                    json.loads(run(config_file, "search", query, "--json", "--limit", "200").output)]
        copy = [hit["message_id"] for hit in
                json.loads(run(restored_config_file, "search", query, "--json", "--limit", "200").output)]
        # The same hits; equal scores may come in another order (two indexes built differently).
        assert sorted(found for found in copy if found in answered) == sorted(found for found in original if found in answered), query
        assert any(found in answered for found in copy), query


@pytest.fixture
def small_backup(config, config_file, tmp_path):
    from akn_mail.delivery import verp

    contacts = load_roster(config)
    verp.load_key(config)  # made by the first VERP address the list gives out
    templates = tmp_path / "site-templates"
    templates.mkdir()
    (templates / "footer.de.txt").write_text("Gruß vom AKN\n", encoding="utf-8")
    key = tmp_path / "dkim-private.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n", encoding="utf-8")
    config_file.write_text(config_file.read_text(encoding="utf-8") + f'\n[templates]\ndirectory = "{templates}"\n'
                           f'\n[dkim]\ndomain = "lists.example"\nselector = "akn2026"\nkey_file = "{key}"\n',
                           encoding="utf-8")
    path = tmp_path / "sicherung.tar.gz"
    result = run(config_file, "backup", str(path))
    assert result.exit_code == 0, result.output
    return path, contacts


def test_backup_holds_database_config_templates_and_manifest_but_no_index(small_backup):
    path, _ = small_backup
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("akn-mail-backup/manifest.json").read())
    assert {"akn-mail-backup/data/akn-mail.sqlite3", "akn-mail-backup/config/akn-mail.toml",
            "akn-mail-backup/templates/footer.de.txt", "akn-mail-backup/keys/dkim.pem",
            "akn-mail-backup/manifest.json"} <= names
    assert not any("/index/" in name for name in names)
    assert manifest["format"] == "akn-mail-backup" and manifest["counts"]["contacts"] == 12
    assert set(manifest["files"]) == {name.removeprefix("akn-mail-backup/") for name in names} - {"manifest.json"}


def test_backup_never_overwrites(small_backup, config_file):
    path, _ = small_backup
    result = run(config_file, "backup", str(path))
    assert (result.exit_code, result.output) == (1, f"Error: {path} exists already; give a new file name (backup never overwrites files).\n")


def test_restore_refuses_a_directory_that_is_not_empty(small_backup, config_file, tmp_path):
    path, _ = small_backup
    target = tmp_path / "belegt"
    target.mkdir()
    (target / "akn-mail.sqlite3").write_text("old")
    result = run(config_file, "restore", str(path), "--to", str(target))
    assert (result.exit_code, result.output) == (
        1, f"Error: {target} is not empty; give a new or empty directory with --to (restore never overwrites files).\n")
    assert (target / "akn-mail.sqlite3").read_text() == "old"


def test_restore_on_a_clean_directory_brings_templates_and_roster(small_backup, config_file, tmp_path):
    path, contacts = small_backup
    target = tmp_path / "neu"
    result = run(config_file, "restore", str(path), "--to", str(target))
    assert result.exit_code == 0, result.output
    restored = config_module.load(target / "akn-mail.toml", environ={})
    assert restored.resolve(restored.templates.directory) == target / "templates"
    assert (target / "templates" / "footer.de.txt").read_text(encoding="utf-8") == "Gruß vom AKN\n"
    assert restored.resolve(restored.dkim.key_file) == target / "keys" / "dkim.pem"
    assert (target / "keys" / "dkim.pem").read_text(encoding="utf-8").startswith("-----BEGIN PRIVATE KEY-----")
    assert (target / "keys" / "dkim.pem").stat().st_mode & 0o077 == 0
    listed = json.loads(run(target / "akn-mail.toml", "contact", "list", "--json").output)
    assert sorted(entry["email"] for entry in listed) == sorted(contacts)
    # The VERP secret comes along (else bounces of mail sent before the move are refused), mode 0600.
    original = config_module.load(config_file, environ={}).data_dir / "verp.key"
    assert (target / "data" / "verp.key").read_bytes() == original.read_bytes()
    assert (target / "data" / "verp.key").stat().st_mode & 0o777 == 0o600


def test_verify_names_a_damaged_file(small_backup, config_file, tmp_path):
    path, _ = small_backup
    # Rewrite the archive with one changed byte in the database: the gzip stream stays valid.
    damaged = tmp_path / "beschaedigt.tar.gz"
    with tarfile.open(path) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source:
            data = source.extractfile(member).read() if member.isfile() else None
            if member.name.endswith("akn-mail.sqlite3"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            target.addfile(member, None if data is None else io.BytesIO(data))
    result = run(config_file, "backup", "--verify", str(damaged))
    assert result.exit_code == 1
    assert result.output == (f"Error: {damaged} does not match its manifest (checksum differs: data/akn-mail.sqlite3); "
                             "use another backup.\n")
    cut = tmp_path / "abgeschnitten.tar.gz"
    cut.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    result = run(config_file, "backup", "--verify", str(cut))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {cut} is damaged or cut short (")
    restore = run(config_file, "restore", str(cut), "--to", str(tmp_path / "nie"))
    assert restore.exit_code == 1 and not (tmp_path / "nie").exists()
