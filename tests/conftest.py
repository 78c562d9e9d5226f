"""Shared fixtures. Live tests take the `stack` fixture: one isolated native stack per session,
started from clean state and stopped at the end, also when tests fail."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import TestStack  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    test_stack = TestStack()
    # TEST_STACK_KEEP=1 (iterating on one test file): reuse the stack left up by the last session and
    # leave it up. `make test` never sets it, so a full run always starts from clean state.
    keep = os.environ.get("TEST_STACK_KEEP") == "1"
    if not keep:
        test_stack.ctl("clean", check=False)
    try:
        test_stack.ctl("up")
        yield test_stack
    finally:
        if not keep:
            test_stack.ctl("down", check=False)
