"""Shared set-up of the meeting tests (issue 15): the roster, a rotation from 2027-Q1 with
Dormagen, and the first meeting planned, all through the real CLI."""

from __future__ import annotations

from click.testing import CliRunner

from akn_mail.cli import cli
from conftest import ROSTER_CSV


def planned_meeting(config_file, *, end: str | None = "16:00"):
    """The CLI as a function (asserting the exit code), after the roster and the plan of 2027-Q1."""
    runner = CliRunner()

    def invoke(*args, code=0):
        result = runner.invoke(cli, ["--config", str(config_file), *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    invoke("roster", "import", str(ROSTER_CSV))
    invoke("rotation", "start", "2027-Q1", "--host", "Dormagen")
    invoke("rotation", "plan", "2027-Q1", "--date", "2027-03-11", "--time", "14:00",
           *(("--end", end) if end else ()), "--place", "Rathaus Dormagen")
    return invoke
