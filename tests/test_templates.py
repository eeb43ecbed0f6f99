"""Templates: every mail in both languages reads right, is proper MIME, and overrides are checked."""

from __future__ import annotations

import email
import re
from email.policy import SMTP
from pathlib import Path

import pytest
from click.testing import CliRunner

from akn_mail.cli import cli
from akn_mail.notices.template_samples import sample_variables
from akn_mail.notices.templating import LANGUAGES, TEMPLATES, TemplateError, Templates, build_message, check_all, require_valid, shipped_directory

REPO = Path(__file__).resolve().parent.parent

# Words a German reader expects spelt with umlauts/ß, and the ASCII stand-ins that must never appear.
ASCII_STANDINS = re.compile(r"\b(fuer|Gruesse|Grueße|zurueck\w*|koennen|moechte\w*|naechste\w*|Anhaenge|gehoert|noetig|Aenderung|Quartal\w* Juechen)\b")


def rendered_all():
    for language in LANGUAGES:
        templates = Templates(_config(), language)
        for name in TEMPLATES:
            yield language, name, templates.render(name, **sample_variables(name, language))


def _config():
    from akn_mail.config import Config

    config = Config()
    config.list.admins = ["admin@rhein-kreis-neuss.example"]
    return config


def test_every_template_exists_in_both_languages_and_nothing_else_is_shipped():
    for language in LANGUAGES:
        files = {path.stem for path in (REPO / "templates" / language).glob("*.txt")}
        assert files == set(TEMPLATES), language


def test_package_ships_the_top_level_templates():
    """akn_mail/templates is what an installed package reads; it must be the templates/ of the repo.

    In the repository it is a symlink to ../templates, which setuptools follows when it
    builds a wheel (package-data ``templates/**/*``), so a non-editable install has real files.
    """
    import tomllib

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "templates/**/*" in pyproject["tool"]["setuptools"]["package-data"]["akn_mail"]
    assert (REPO / "akn_mail" / "templates").resolve() == (REPO / "templates").resolve()
    shipped = shipped_directory()
    for language in LANGUAGES:
        for path in (REPO / "templates" / language).glob("*.txt"):
            assert (shipped / language / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("language,name,rendered", list(rendered_all()), ids=lambda v: v if isinstance(v, str) else "")
def test_template_reads_like_a_finished_mail(language, name, rendered):
    text = rendered.subject + "\n" + rendered.body
    assert "{{" not in text and "{%" not in text and "}}" not in text
    assert "None" not in text and "[]" not in text and "namespace(" not in text
    assert not re.search(r"[ \t]+\n", rendered.body), "trailing blanks"
    assert "\n\n\n" not in rendered.body, "a placeholder left an empty paragraph"
    assert not re.search(r"\(\s*\)|„\s*“|\"\s*\"|: ,| ,|\s\.$", text, re.MULTILINE), "empty placeholder"
    if TEMPLATES[name].has_subject:
        assert rendered.subject and "\n" not in rendered.subject
    else:
        assert rendered.subject == ""
    if language == "de":
        assert not ASCII_STANDINS.search(text), ASCII_STANDINS.search(text).group(0)
    assert "Jüchen" in text or name in ("member_joined", "member_left", "moderation_notice", "moderation_done",
                                        "moderation_failed", "post_held", "post_rejected", "request_help", "footer", "bounce_disabled")


def test_german_welcome_names_next_host_list_and_minutes_tag():
    rendered = Templates(_config(), "de").render("welcome", **sample_variables("welcome"))
    assert rendered.subject == "Willkommen in der Liste AKN"
    assert rendered.body.startswith("Guten Tag,\n")
    assert "Die Sitzung im 2. Quartal 2027 richtet Jüchen aus, am Mittwoch, 12. Mai 2027, Rathaus Jüchen, Großer Sitzungssaal." in rendered.body
    assert "„[Protokoll]“ in den Betreff" in rendered.body
    assert "Mit freundlichen Grüßen" in rendered.body
    assert "Dormagen, EnergieAgentur.NRW, Grevenbroich, Jüchen, Kaarst" in rendered.body


def test_english_set_is_chosen_by_list_language():
    config = _config()
    config.list.language = "en"
    rendered = Templates(config).render("host_reminder", **sample_variables("host_reminder", "en"))
    assert rendered.subject == "Reminder: Jüchen hosts the meeting of Q2 2027"
    assert "Planned date: Wednesday, 12 May 2027" in rendered.body


def test_welcome_without_a_next_host_says_so():
    variables = sample_variables("welcome") | {"next_meeting": None}
    body = Templates(_config(), "de").render("welcome", **variables).body
    assert "Wer die nächste Sitzung ausrichtet, steht noch nicht fest." in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_built_message_is_utf8_mime_and_loop_safe(language):
    config = _config()
    templates = Templates(config, language)
    message = templates.message("welcome", "m.schaefer@juechen.example", **sample_variables("welcome", language))
    raw = message.as_bytes()
    assert raw.isascii(), "8-bit bytes would need 8BITMIME; the body is quoted-printable"
    parsed = email.message_from_bytes(raw, policy=SMTP)
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert parsed["MIME-Version"] == "1.0"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["From"] == "AKN <akn-owner@lists.example>"
    assert parsed["To"] == "m.schaefer@juechen.example"
    assert parsed["List-Id"] == "Allianz für Klima und Nachhaltigkeit im Rhein-Kreis Neuss <akn.lists.example>"
    assert parsed["Message-ID"].endswith("@lists.example>")
    assert parsed["Date"]
    assert parsed.get_content().replace("\r\n", "\n") == templates.render("welcome", **sample_variables("welcome", language)).body
    if language == "de":
        assert "Jüchen" in parsed.get_content()


@pytest.mark.parametrize("language,name,rendered", [r for r in rendered_all() if TEMPLATES[r[1]].has_subject],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_notice_survives_the_wire_unchanged(language, name, rendered):
    raw = build_message(_config(), rendered, "m.schaefer@juechen.example", kind=name).as_bytes()
    assert raw.isascii() and max(len(line) for line in raw.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(raw, policy=SMTP)
    assert parsed["Subject"] == rendered.subject
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().replace("\r\n", "\n") == rendered.body
    assert parsed["X-AKN-Notice"] == name


def test_umlauts_in_subject_are_encoded_and_decode_back():
    config = _config()
    rendered = Templates(config, "de").render("minutes_receipt", **sample_variables("minutes_receipt"))
    raw = build_message(config, rendered, "m.schaefer@juechen.example").as_bytes()
    assert b"Eingangsbest=C3=A4tigung" in raw or b"Eingangsbest" in raw
    assert email.message_from_bytes(raw, policy=SMTP)["Subject"] == "Eingangsbestätigung: Protokoll der Sitzung im 2. Quartal 2027"


def _site(tmp_path: Path, files: dict[str, str]) -> Path:
    site = tmp_path / "site-templates"
    for name, text in files.items():
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return site


def test_site_override_wins_per_file_and_language_folder_wins_over_top(tmp_path):
    config = _config()
    config.templates.directory = str(_site(tmp_path, {
        "farewell.txt": "Subject: Auf Wiedersehen, {{ contact.name }}\n\nDanke, {{ member.name }}!\n",
        "de/farewell.txt": "Subject: Tschüss {{ contact.name }}\n\nDanke für alles, {{ member.name }}.\n",
    }))
    de = Templates(config, "de").render("farewell", **sample_variables("farewell"))
    en = Templates(config, "en").render("farewell", **sample_variables("farewell", "en"))
    assert (de.subject, de.body) == ("Tschüss Markus Schäfer", "Danke für alles, Jüchen.\n")
    assert en.subject == "Auf Wiedersehen, Markus Schäfer"
    # Other templates still come from the package.
    assert Templates(config, "de").render("welcome", **sample_variables("welcome")).subject == "Willkommen in der Liste AKN"
    assert check_all(config) == []


def test_misspelt_variable_in_override_is_reported_with_file_and_line(tmp_path):
    config = _config()
    site = _site(tmp_path, {"de/welcome.txt": "Subject: Willkommen\n\nHallo {{ contact.name }},\n\nnächster Gastgeber: {{ next_host }}\n"})
    config.templates.directory = str(site)
    problems = Templates(config, "de").check()
    assert len(problems) == 1
    assert str(problems[0]).startswith(f"{site / 'de' / 'welcome.txt'}:5: 'next_host' is undefined")
    with pytest.raises(TemplateError) as error:
        require_valid(config)
    assert str(error.value).startswith(f"broken template {site / 'de' / 'welcome.txt'}:5: 'next_host' is undefined")


def test_syntax_error_and_missing_subject_are_reported(tmp_path):
    config = _config()
    site = _site(tmp_path, {
        "de/farewell.txt": "Subject: Tschüss\n\n{% if contact.name %}Hallo\n",
        "de/footer.txt": "{{ list.address }\n",
        "de/welcome.txt": "Hallo {{ contact.name }}\n",
    })
    config.templates.directory = str(site)
    found = {problem.name: problem for problem in Templates(config, "de").check()}
    assert set(found) == {"farewell", "footer", "welcome"}
    assert found["farewell"].path == str(site / "de" / "farewell.txt")
    assert found["farewell"].line == 3
    assert found["footer"].line == 1
    assert "must start with a 'Subject: …' line" in found["welcome"].message or "header block" in found["welcome"].message


def test_templates_check_command_fails_on_a_broken_override(tmp_path, monkeypatch):
    site = _site(tmp_path, {"en/host_reminder.txt": "Subject: {{ meeting.quater }}\n\nHi\n"})
    config_file = tmp_path / "akn-mail.toml"
    config_file.write_text(f'[storage]\ndata_dir = "data"\n[templates]\ndirectory = "{site}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config_file), "templates", "check"])
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith(f"en: {site / 'en' / 'host_reminder.txt'}:1: ")
    assert "has no attribute 'quater'" in result.output.splitlines()[0]
    assert result.output.splitlines()[-1] == (
        "Error: 1 template(s) do not render; fix the file(s) named above or remove the override."
    )


def test_templates_check_command_passes_on_shipped_set(config_file):
    result = CliRunner().invoke(cli, ["--config", str(config_file), "templates", "check"])
    assert result.exit_code == 0, result.output
    assert result.output == f"All {len(TEMPLATES)} templates render in de and en.\n"


def test_templates_show_and_unknown_name(config_file):
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config_file), "templates", "show", "minutes_reminder"])
    assert result.exit_code == 0
    assert result.output.startswith("Subject: Protokoll fehlt noch: Sitzung im 2. Quartal 2027\n\nGuten Tag,\n")
    result = runner.invoke(cli, ["--config", str(config_file), "templates", "show", "welcom"])
    assert result.exit_code == 1
    assert result.output == "Error: no template called 'welcom'. Did you mean welcome? See 'akn-mail templates list'.\n"


def test_serve_refuses_to_start_with_a_broken_override(tmp_path):
    site = _site(tmp_path, {"de/welcome.txt": "Subject: x\n\n{{ nope }}\n"})
    config_file = tmp_path / "akn-mail.toml"
    config_file.write_text(f'[storage]\ndata_dir = "data"\n[templates]\ndirectory = "{site}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config_file), "serve", "--port", "0"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: broken template {site / 'de' / 'welcome.txt'}:3: 'nope' is undefined (variables of welcome: list, "
        "contact, member, members, next_meeting). Fix or remove the override.\n"
    )


def test_override_that_is_not_utf8_or_fails_at_runtime_is_reported(tmp_path):
    config = _config()
    site = tmp_path / "site"
    (site / "de").mkdir(parents=True)
    (site / "de" / "farewell.txt").write_bytes("Subject: Tschüss\n\nDanke\n".encode("latin-1"))
    (site / "de" / "bounce_disabled.txt").write_text("Subject: x\n\n{{ contact.email }} {{ 1 / 0 }}\n", encoding="utf-8")
    config.templates.directory = str(site)
    found = {problem.name: problem for problem in Templates(config, "de").check()}
    assert set(found) == {"farewell", "bounce_disabled"}
    assert "not UTF-8 text" in found["farewell"].message and "save it as UTF-8" in found["farewell"].message
    assert found["bounce_disabled"].line == 3
    assert found["bounce_disabled"].message == "ZeroDivisionError: division by zero"


def test_a_missing_site_directory_is_reported(tmp_path):
    config = _config()
    config.templates.directory = str(tmp_path / "no-such-dir")
    problems = Templates(config, "de").check()
    assert [str(problem) for problem in problems] == [
        f"{tmp_path / 'no-such-dir'}: [templates] directory does not exist; create it or fix the path"
    ]
