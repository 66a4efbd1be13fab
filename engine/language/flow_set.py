"""A folder of flow files read as one set: the shared calendars first, then every flow, then what
only the set can tell (two files declaring one flow id; references to flows and fields of other
files, engine/language/cross_flow.py).

The server's start, `relayflow validate DIR` and the reload of a folder all
read flows through here, so they agree on which files are good.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.language.cross_flow import check_set
from engine.language.flow import CompiledFlow
from engine.language.loader import load_calendars_file, load_flow_file
from engine.language.problems import FlowLoadError, FlowProblem
from engine.sla.calendar import CalendarSpec

CALENDARS_FILE = "calendars.yaml"
_FLOW_KEY = re.compile(r"^flow[ \t]*:", re.M)
_FLOW_ID = re.compile(r"^flow[ \t]*:[ \t]*['\"]?([A-Za-z0-9_]+)", re.M)


@dataclass
class FlowSet:
    good: list[CompiledFlow] = field(default_factory=list)
    bad: list[FlowLoadError] = field(default_factory=list)
    calendars: dict[str, CalendarSpec] = field(default_factory=dict)


def flow_files(folder: str | Path) -> list[Path]:
    """The flow files of a folder (*.yaml, *.yml): the shared calendars file and the flows' own tests
    (`<flow>.tests.yaml`, written by a flow's author next to it) left out."""
    found = [*Path(folder).glob("*.yaml"), *Path(folder).glob("*.yml")]
    return sorted(p for p in found if p.name != CALENDARS_FILE and not p.name.endswith((".tests.yaml", ".tests.yml")))


def load_flow_folder(folder: str | Path) -> FlowSet:
    """Every flow file of `folder` with the folder's shared calendars, checked as one set."""
    shared = Path(folder) / CALENDARS_FILE
    return load_flow_set(flow_files(folder), shared if shared.exists() else None)


def load_flow_set(files: Iterable[Path], calendars_file: Path | None = None) -> FlowSet:
    """Load `files` as one set; broken files and duplicate flow ids come back as errors."""
    result = FlowSet()
    if calendars_file is not None:
        try:
            result.calendars = load_calendars_file(calendars_file)
        except FlowLoadError as exc:
            result.bad.append(exc)
    loaded: list[tuple[Path, CompiledFlow]] = []
    broken: list[str] = []
    for path in files:
        try:
            loaded.append((path, load_flow_file(path, result.calendars)))
        except FlowLoadError as exc:
            result.bad.append(exc)
            broken += _flow_ids(path)
    by_name: dict[str, list[Path]] = {}
    for path, flow in loaded:
        by_name.setdefault(flow.name, []).append(path)
    for path, flow in loaded:
        others = [p for p in by_name[flow.name] if p != path]
        if not others:
            result.good.append(flow)
            continue
        # Neither file wins: serving one of them silently is how a typo in a copy goes unnoticed.
        names = ", ".join(p.name for p in others)
        line = _flow_key_line(path)
        result.bad.append(FlowLoadError([FlowProblem(
            line, 1, f"flow '{flow.name}' is declared in {names} too: give each flow its own id (one file per flow)",
            str(path))]))
    result.good, refused = check_set(result.good, broken)
    result.bad += refused
    return result


def _flow_ids(path: Path) -> list[str]:
    """The flow id a file that does not load declares, if it can be read at all."""
    try:
        return _FLOW_ID.findall(path.read_text(encoding="utf-8", errors="replace"))[:1]
    except OSError:
        return []


def _flow_key_line(path: Path) -> int:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 1
    match = _FLOW_KEY.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 1
