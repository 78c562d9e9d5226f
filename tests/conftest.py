"""Shared fixtures. Live tests take the `stack` fixture: one isolated native stack per session,
started from clean state and stopped at the end, also when tests fail."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import TestStack  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    test_stack = TestStack()
    test_stack.ctl("clean", check=False)
    try:
        test_stack.ctl("up")
        yield test_stack
    finally:
        test_stack.ctl("down", check=False)
