"""Golden files keep the error output of broken flows stable and readable.

Regenerate after an intended change of wording:
    RELAYFLOW_UPDATE_GOLDEN=1 python -m pytest tests/engine/test_golden_errors.py
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.language.loader import load_flow_file
from engine.language.problems import FlowLoadError

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.yaml"))


@pytest.mark.parametrize("name", CASES)
def test_error_output_matches_golden(name: str) -> None:
    source = GOLDEN / f"{name}.yaml"
    with pytest.raises(FlowLoadError) as info:
        load_flow_file(source)
    text = str(info.value).replace(str(source), f"{name}.yaml") + "\n"
    expected = GOLDEN / f"{name}.expected"
    if os.environ.get("RELAYFLOW_UPDATE_GOLDEN") or not expected.exists():
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")
