"""Issue 12, item 4: a command run in the wrong directory never opens a new, empty archive.

Only 'akn-mail init' creates a data directory from nothing; any other command without a
config file and without the data directory says so in one line. A data directory that a
command does create (a config file names a new place) is 0750, as init makes it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROSTER_CSV


def akn(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AKN_MAIL_")}
    return subprocess.run(
        [sys.executable, "-m", "akn_mail", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("args", [
    ("member", "list"),
    ("roster", "import", str(ROSTER_CSV)),
    ("rotation", "show"),
    ("search", "Photovoltaik"),
    ("serve",),
])
def test_without_config_and_data_directory_nothing_is_created(tmp_path, args):
    result = akn(tmp_path, *args)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: no akn-mail.toml here and no data directory {tmp_path / 'archive'}; "
        "run akn-mail init or pass --config FILE\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_init_then_commands_work_and_the_data_directory_is_private(tmp_path):
    assert akn(tmp_path, "init").returncode == 0
    assert akn(tmp_path, "member", "list").stdout == "No members yet. Add some with: akn-mail roster import roster.csv\n"
    other = tmp_path / "elsewhere" / "data"
    config = tmp_path / "other.toml"
    config.write_text(f'[storage]\ndata_dir = "{other}"\n', encoding="utf-8")
    result = akn(tmp_path, "--config", str(config), "roster", "import", str(ROSTER_CSV))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(other.stat().st_mode) == 0o750
    assert stat.S_IMODE(other.parent.stat().st_mode) == 0o750


def test_command_output_carries_no_log_lines_and_v_shows_them(tmp_path):
    """Issue 12, item 11: a notice that cannot be sent is not a log line in the output of
    'member leave'; -v shows the log lines on stderr."""
    assert akn(tmp_path, "init").returncode == 0
    assert akn(tmp_path, "member", "add", "Dormagen").returncode == 0
    quiet = akn(tmp_path, "member", "leave", "Dormagen", "--on", "2099-12-31")
    assert quiet.returncode == 0
    assert quiet.stdout.splitlines()[0] == "Dormagen is a member until 2099-12-31."
    assert "notice" not in quiet.stdout + quiet.stderr
    loud = akn(tmp_path, "-v", "member", "join", "Dormagen", "--on", "2099-12-31")
    assert "akn-mail: " not in loud.stdout
