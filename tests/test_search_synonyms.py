"""Synonyms and abbreviations (``[archive] synonyms_file``) and ``search --explain`` (issue 13)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from akn_mail.archive.filing import Archive
from akn_mail.archive.search import ArchiveSearch
from akn_mail.archive.synonyms import Synonyms, SynonymsError
from akn_mail.cli import cli

from archive_support import mail, setup_roster


def run(config_file, *args):
    return CliRunner().invoke(cli, ["--config", str(config_file), *args], catch_exceptions=False)


@pytest.fixture
def filed(config, database):
    setup_roster(database)
    archive = Archive(config, database)
    ids = {}
    for key, subject, body in (
        ("pv", "PV auf dem Rathaus", "Die PV-Anlage auf dem Rathaus liefert 30 kWp."),
        ("photovoltaik", "Dächer", "Photovoltaik auf allen Schulen bis 2030."),
        ("nahverkehr", "Busse", "Der öffentliche Nahverkehr fährt ab Mai öfter."),
        ("emob", "Fuhrpark", "Die Elektromobilität im Fuhrpark wächst."),
    ):
        ids[archive.file(mail(subject, body, message_id=f"{key}@test")).message.id] = key
    return ids


def test_shipped_list_reads_and_maps_both_ways():
    synonyms = Synonyms.load()
    assert "Photovoltaik" in synonyms.of("PV") and "PV" in synonyms.of("photovoltaik")
    assert synonyms.of("OEPNV") == synonyms.of("ÖPNV")
    assert "Elektromobilität" in synonyms.of("E-Mobilität")


def test_synonym_hits_rank_below_literal_hits(config, database, filed):
    search = ArchiveSearch(Archive(config, database).index, database, Synonyms.load())
    try:
        hits = [(filed[hit.id], hit.tier) for hit in search.search("PV")]
        assert hits == [("pv", "literal"), ("photovoltaik", "synonym")]
        assert [(filed[hit.id], hit.tier) for hit in search.search("ÖPNV")] == [("nahverkehr", "synonym")]
        # Without a list the abbreviation finds only itself.
        assert [filed[hit.id] for hit in ArchiveSearch(search.index, database).search("PV")] == ["pv"]
    finally:
        search.close()


def test_site_list_replaces_the_shipped_one(config_file, filed, tmp_path):
    own = tmp_path / "synonyme.txt"
    own.write_text("# unsere Liste\nSolar, Photovoltaik\n", encoding="utf-8")
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(text + f'\n[archive]\nsynonyms_file = "{own}"\n', encoding="utf-8")
    hits = json.loads(run(config_file, "search", "Solar", "--json", "--explain").output)
    assert [(filed[hit["id"]], hit["found_by"]) for hit in hits] == [("photovoltaik", "synonym (Solar ~ Photovoltaik)")]
    assert json.loads(run(config_file, "search", "PV", "--json").output)[0].keys() >= {"id", "score"}
    assert [filed[hit["id"]] for hit in json.loads(run(config_file, "search", "PV", "--json").output)] == ["pv"]


def test_broken_synonyms_file_is_one_line_error(config_file, filed, tmp_path):
    own = tmp_path / "synonyme.txt"
    own.write_text("PV, Photovoltaik\nnur ein Eintrag\n", encoding="utf-8")
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(text + f'\n[archive]\nsynonyms_file = "{own}"\n', encoding="utf-8")
    result = run(config_file, "search", "PV")
    assert result.exit_code == 1
    assert result.output.startswith("Error: the synonyms file ") and "line 2" in result.output
    assert result.output.count("\n") == 1
    with pytest.raises(SynonymsError):
        Synonyms.load(tmp_path / "missing.txt")


def test_explain_names_tier_and_expansion(config_file, filed):
    result = run(config_file, "search", "PV", "--explain")
    assert result.exit_code == 0, result.output
    assert "found by: literal" in result.output
    assert "found by: synonym (PV ~ Photovoltaik, Solaranlage, Solarstrom)" in result.output
