"""The translated stack, saved as state/plan.json so that every launcher sees the same translation."""

import json

from stackctl.compose import load_compose
from stackctl.settings import get_settings
from stackctl.translate import NativeService, start_order, translate


def build_plan() -> dict[str, NativeService]:
    """Translate docker-compose.yml for this runtime and save it in the state directory."""
    settings = get_settings()
    native = translate(load_compose(settings.compose_file), settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    ordered = {name: native[name].to_json() for name in start_order(native)}
    settings.plan_file.write_text(json.dumps(ordered, indent=2))
    return {name: native[name] for name in ordered}


def load_plan() -> dict[str, NativeService]:
    """The plan saved by the last `stackctl up`, in start order."""
    settings = get_settings()
    if not settings.plan_file.exists():
        raise SystemExit(f"no native stack at {settings.state_dir}: run `make up` first")
    data = json.loads(settings.plan_file.read_text())
    return {name: NativeService.from_json(item) for name, item in data.items()}


def save_plan(plan: dict[str, NativeService]) -> None:
    """Write a plan changed at run time (stackctl.scale adds and removes replicas)."""
    get_settings().plan_file.write_text(json.dumps({name: s.to_json() for name, s in plan.items()}, indent=2))
