"""What `make kill` and `make exec` reach inside a native "container".

`make kill NAME=x` SIGKILLs the server itself (supervisord restarts it, like Docker's
`restart: unless-stopped`). A Patroni node is two processes: the agent and the Postgres it
manages. There the database is what fails in real life, so `make kill` SIGKILLs the node's
Postgres and leaves the agent alive to decide, as it would in production: restart it in
place while it still holds the leader lock, or let a replica take over.

`stackctl exec NAME -- CMD` runs a command inside a container's environment (its variables,
user and rewritten paths), like `docker compose exec`.
"""

import os
import signal
import subprocess
from pathlib import Path

from stackctl.launch import process_env
from stackctl.settings import get_settings
from stackctl.supervisor import Supervisor
from stackctl.translate import NativeService, rewrite_paths


def postmaster_pid(service: NativeService) -> int:
    """The pid of a Patroni node's Postgres, from postmaster.pid in its data directory."""
    pidfile = Path(service.env["PATRONI_POSTGRESQL_DATA_DIR"]) / "postmaster.pid"
    try:
        return int(pidfile.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError) as error:
        raise SystemExit(f"{service.name}: its Postgres is not running ({pidfile}: {error})") from error


def kill(service: NativeService) -> str:
    """SIGKILL what `make kill` means for this service; return what was hit, for the user."""
    if service.kind == "patroni":
        pid = postmaster_pid(service)
        os.kill(pid, signal.SIGKILL)
        return f"SIGKILL sent to {service.name}'s Postgres (pid {pid}); Patroni restarts it or fails over"
    Supervisor(get_settings()).kill(service.name)
    return f"SIGKILL sent to {service.name}; supervisord restarts it (restart: unless-stopped)"


def exec_in(service: NativeService, argv: list[str]) -> int:
    """Run `argv` with the container's environment and user (container paths in it pointed at their
    native places, as for the service's own command); return its exit status."""
    settings = get_settings()
    argv = [rewrite_paths(arg, service.mounts, service.container_dir / "tmp") for arg in argv]
    env = process_env(service)
    workdir = settings.project_dir if service.kind == "app" else service.container_dir
    env.setdefault("PYTHONPATH", str(settings.project_dir / "src"))
    user = service.user
    return subprocess.run(argv, env=env, cwd=workdir, user=user, group=user, extra_groups=[] if user else None).returncode
