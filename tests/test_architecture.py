"""The layers hold (an import-linter contract, .importlinter at the repository root): interfaces
-> assembly -> services -> pipeline -> decide and enforce -> records -> store -> model, never
upwards, and no import cycles between those layers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_layer_contract_is_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is a test dependency: make install"
    done = subprocess.run([exe, "--no-cache", str(ROOT / ".importlinter")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout
