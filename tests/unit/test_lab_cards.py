"""The control room's experiment cards (web/lab/cards/*.json) follow the documented format, so a
card added by another issue shows up complete: every field, known lever actions, charts the lab
draws, components that exist in docker-compose.yml and code paths that exist in the repository."""

import json
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CARDS = sorted((ROOT / "web" / "lab" / "cards").glob("*.json"))
COMPONENT_ACTIONS = {"kill", "stop", "start"}
ACTIONS = COMPONENT_ACTIONS | {"flag", "load", "load-stop"}
SHAPES = {"steady", "ramp", "spike", "soak"}
REQUIRED = {"id": str, "order": int, "title": str, "seed": str, "pattern": str, "levers": list, "expect": str,
            "charts": list, "code": list}


@cache
def chart_ids() -> set[str]:
    source = (ROOT / "web" / "src" / "lab" / "charts.js").read_text()
    block = source.split("export const CHARTS = {", 1)[1].split("\n};", 1)[0]
    # "alerts" is the firing-alerts panel, drawn beside the charts.
    return set(re.findall(r'^  "([a-z0-9-]+)": \{', block, flags=re.MULTILINE)) | {"alerts"}


@cache
def compose_services() -> set[str]:
    return set(yaml.load((ROOT / "docker-compose.yml").read_text(), Loader=yaml.CSafeLoader)["services"])


def test_there_is_a_card_per_pattern_built_so_far():
    assert len(CARDS) >= 10
    assert len({json.loads(card.read_text())["order"] for card in CARDS}) == len(CARDS), "two cards share an order"


@pytest.mark.parametrize("path", CARDS, ids=lambda path: path.stem)
def test_card_follows_the_format(path):
    card = json.loads(path.read_text())
    for field, kind in REQUIRED.items():
        assert isinstance(card.get(field), kind), f"{path.name}: {field} must be a {kind.__name__}"
    assert card["id"] == path.stem
    assert set(card) <= set(REQUIRED), f"{path.name}: unknown fields {set(card) - set(REQUIRED)}"
    assert card["levers"], "a card needs at least one lever"
    services = compose_services()
    for lever in card["levers"]:
        assert lever["action"] in ACTIONS and lever["label"].strip()
        if lever["action"] in COMPONENT_ACTIONS:
            assert lever["component"] in services, f"{lever['component']} is not a compose service"
        if lever["action"] == "load":
            assert lever["shape"] in SHAPES
            assert 1 <= lever.get("users", 10) <= 100 and 1 <= lever.get("seconds", 60) <= 600
        if lever["action"] == "flag":
            assert lever["flag"] and "value" in lever
    assert set(card["charts"]) <= chart_ids(), f"unknown charts {set(card['charts']) - chart_ids()}"
    for item in card["code"]:
        assert (ROOT / item["path"]).is_file(), f"{item['path']} does not exist"
        assert item["what"].strip()
