"""Chaos Toolkit actions (provider type "python", module chaos.actions): the faults of the matrix.

Each action notes when it struck (chaos.stack.note), so the probe that waits for the
steady state again can say how many seconds it took, and the report can say how long
after a component was back its orders settled.
"""

import time

from chaos import stack


def kill(name: str) -> str:
    """SIGKILL one component; the supervisor restarts it (restart: unless-stopped), as a crash would."""
    stack.note("fault", action="kill", name=name)
    stack.ctl("kill", name)
    return f"killed {name}"


def wait_back(name: str, timeout: float = 600.0) -> float:
    """Wait until a killed or restarted component is healthy again; seconds waited."""
    started = time.monotonic()
    while stack.ctl("wait", name, check=False).returncode != 0:  # each wait gives up after a minute
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{name} not healthy after {timeout:g}s")
    stack.note("back", name=name)
    return round(time.monotonic() - started, 1)


def stop(name: str) -> str:
    """Take one component out (an outage that lasts until `start`)."""
    stack.note("fault", action="stop", name=name)
    stack.ctl("stop", name)
    return f"stopped {name}"


def start(name: str) -> str:
    """Bring a stopped component back and wait for its health check."""
    stack.ctl("start", name, check=False)
    return f"started {name} (healthy after {wait_back(name):g}s)"


def set_flag(name: str, value: str) -> str:
    """Turn a fault flag on (chassis.flags): applied by running processes within a second."""
    stack.note("fault", action="flag", name=name, value=value)
    return stack.flagctl("set", name, str(value)).stdout.strip()


def clear_flag(name: str) -> str:
    """Back to the flag's default (used by the method to end a fault, and by rollbacks, idempotently)."""
    result = stack.flagctl("clear", name).stdout.strip()
    stack.note("back", name=name)
    return result


def pause(seconds: float) -> str:
    time.sleep(seconds)
    return f"waited {seconds:g}s"
