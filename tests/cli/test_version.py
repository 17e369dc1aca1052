"""`jobstream --version`: the installed command prints the one workspace version."""

import shutil
import subprocess
import sys
from pathlib import Path

from jobstream_contracts import __version__


def test_version_prints_the_workspace_version_without_a_command():
    command = shutil.which("jobstream", path=str(Path(sys.executable).parent))
    assert command is not None, "the jobstream script is not installed next to this python"
    result = subprocess.run(
        [command, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"jobstream {__version__}\n"
