"""Tests written by a flow's author (`<flow>.tests.yaml`): their language, loader and runner.

spec.py (the models), loader.py (located loading and the checks against the flow set), reasons.py (the
reasons an `expect_error:` names), sandbox.py (throw-away databases), runner.py (one file's tests),
suite.py (files and folders as `relayflow test` names them). See docs/flow-tests.md.
"""
