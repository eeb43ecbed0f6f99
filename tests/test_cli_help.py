"""The top-level help: every command listed, its summary true to the command, nothing imported."""

from __future__ import annotations

import importlib
import subprocess
import sys

from click.testing import CliRunner

from akn_mail.cli import COMMANDS, cli


def test_summary_in_the_table_matches_each_commands_own_help():
    for name, (target, summary) in COMMANDS.items():
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        first_line = " ".join(command.help.strip().split("\n\n")[0].split())
        assert first_line.startswith(summary.rstrip(".")), f"{name}: {summary!r} vs {first_line!r}"


def test_top_level_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name, (_, summary) in COMMANDS.items():
        assert f"  {name}" in result.output
    assert "Search the archive." in result.output


def test_top_level_help_imports_no_command_module():
    code = (
        "import sys; from akn_mail.cli import cli\n"
        "try: cli(['--help'], prog_name='akn-mail')\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('akn_mail.cli.') and m != 'akn_mail.cli.app'))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip().splitlines()[-1] == "[]"
