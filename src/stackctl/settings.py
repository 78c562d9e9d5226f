"""Where a native stack lives: every knob is an environment variable with a safe default.

Two stacks can run side by side (a developer's and the test suite's) because each
has its own state directory, loopback range and supervisord socket.
"""

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StackSettings:
    project_dir: Path
    compose_file: Path
    state_dir: Path
    # First three octets of the loopback range: container N gets "{net}.{N}".
    net: str
    # Publish ports on 127.0.0.1 like Docker does (a developer's stack), or not (isolated test stacks).
    publish: bool
    venv_bin: Path
    postgres_bin: Path

    @property
    def plan_file(self) -> Path:
        return self.state_dir / "plan.json"

    @property
    def supervisor_conf(self) -> Path:
        return self.state_dir / "supervisord.conf"

    @property
    def supervisor_socket(self) -> Path:
        return self.state_dir / "supervisor.sock"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"


@cache
def get_settings() -> StackSettings:
    project_dir = Path(os.environ.get("STACK_PROJECT_DIR", PROJECT_DIR)).resolve()
    state_dir = Path(os.environ.get("STACK_STATE_DIR", project_dir / ".stack"))
    return StackSettings(
        project_dir=project_dir,
        compose_file=Path(os.environ.get("STACK_COMPOSE_FILE", project_dir / "docker-compose.yml")),
        state_dir=state_dir.resolve(),
        net=os.environ.get("STACK_NET", "127.10.0"),
        publish=os.environ.get("STACK_PUBLISH", "1") not in ("0", "false", "no"),
        venv_bin=Path(os.environ.get("STACK_VENV_BIN", project_dir / ".venv" / "bin")),
        postgres_bin=Path(os.environ.get("STACK_POSTGRES_BIN", "/usr/lib/postgresql/15/bin")),
    )
