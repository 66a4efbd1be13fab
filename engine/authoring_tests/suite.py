"""Find the tests files named (files or folders) and run each on the flow set of its folder."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.authoring_tests.loader import TestFileError, tests_files
from engine.authoring_tests.runner import FileResult, run_tests_file
from engine.language.flow_set import load_flow_folder


def run_paths(paths: Iterable[Path]) -> Iterator[FileResult]:
    """One result per tests file, in order. A tests file whose folder has a flow that does not load is refused
    with the flow's own located problems (its tests would run against something else than what is written)."""
    for path in tests_files(paths):
        found = load_flow_folder(path.parent)
        if found.bad:
            problems = [p for exc in found.bad for p in exc.problems]
            yield FileResult(str(path), path.name, refused=TestFileError(problems))
            continue
        yield run_tests_file(path, found.good, found.calendars)
