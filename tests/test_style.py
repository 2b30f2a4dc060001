"""The code stays ruff clean, and no TwiML is written by hand."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from .conftest import ROOT


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is installed by requirements-dev.txt")
def test_ruff_clean():
    result = subprocess.run(["ruff", "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout


def test_no_hand_written_twiml_in_the_package():
    pattern = re.compile(r"""['"]<(Response|Say|Gather|Dial|Play|Redirect|Pause|Hangup)[ >/]""")
    offenders = [
        f"{path.name}:{n}"
        for path in (ROOT / "ivr").rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders
