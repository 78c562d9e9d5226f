"""docker-compose.yml as Docker sees it (stackctl.compose.load_compose), read once per test session:
each read is a `docker-compose config` process (about 2 s of CPU), and four test modules need it."""

import copy
import functools
from pathlib import Path

from stackctl.compose import load_compose

COMPOSE_FILE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


@functools.cache
def _model() -> dict:
    return load_compose(COMPOSE_FILE)


def compose_model() -> dict:
    """A copy of its own for each caller, which may change it (the translation rewrites what it is given)."""
    return copy.deepcopy(_model())
