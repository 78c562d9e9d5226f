"""supervisord as the process supervisor of the native runtime.

Each compose service is a supervisord program that runs `python -m stackctl.launch NAME`.
Compose's restart policy maps onto autorestart; the image's STOPSIGNAL onto stopsignal;
`stopwaitsecs` gives servers time to drain in-flight requests on SIGTERM. Programs are
not autostarted: `orchestrate` starts them in dependency order, waiting on health.
"""

import hashlib
import json
import subprocess
import sys
import time
import xmlrpc.client

from supervisor.xmlrpc import SupervisorTransport

from stackctl.settings import StackSettings
from stackctl.translate import NativeService

AUTORESTART = {"no": "false", "on-failure": "unexpected", "always": "true", "unless-stopped": "true"}


def render_conf(services: dict[str, NativeService], settings: StackSettings) -> str:
    """supervisord.conf for the present (non-absent) services."""
    sections = [
        f"[unix_http_server]\nfile={settings.supervisor_socket}\nchmod=0700\n",
        f"[supervisord]\nlogfile={settings.logs_dir / 'supervisord.log'}\npidfile={settings.state_dir / 'supervisord.pid'}\n"
        f"childlogdir={settings.logs_dir}\nminfds=4096\n",
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        f"[supervisorctl]\nserverurl=unix://{settings.supervisor_socket}\n",
    ]
    for service in services.values():
        if service.absent:
            continue
        sections.append(
            f"[program:{service.name}]\n"
            f"command={sys.executable} -m stackctl.launch {service.name}\n"
            f"directory={settings.project_dir}\n"
            f"environment=STACK_STATE_DIR=\"{settings.state_dir}\",STACK_PROJECT_DIR=\"{settings.project_dir}\","
            f"PYTHONPATH=\"{settings.project_dir / 'src'}\",STACK_SPEC_HASH=\"{spec_hash(service)}\"\n"
            "autostart=false\n"
            f"autorestart={AUTORESTART[service.restart]}\n"
            f"startsecs={0 if service.oneshot else 1}\n"
            "startretries=10\n"
            f"stopsignal={service.stop_signal}\n"
            "stopwaitsecs=30\n"
            "stopasgroup=true\n"
            "killasgroup=true\n"
            f"stdout_logfile={settings.logs_dir / (service.name + '.log')}\n"
            "stdout_logfile_maxbytes=20MB\n"
            "stdout_logfile_backups=2\n"
            "redirect_stderr=true\n"
        )
    return "\n".join(sections)


def spec_hash(service: NativeService) -> str:
    """Changes whenever the service's translated spec changes, so supervisord's reloadConfig sees the
    program as changed and `make up` restarts exactly the services whose compose entry changed."""
    return hashlib.sha256(json.dumps(service.to_json(), sort_keys=True).encode()).hexdigest()[:16]


class Supervisor:
    """A thin client of supervisord's XML-RPC API over its unix socket."""

    def __init__(self, settings: StackSettings):
        self.settings = settings
        self.rpc = self._connect()

    def _connect(self):
        transport = SupervisorTransport(None, None, f"unix://{self.settings.supervisor_socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def is_running(self) -> bool:
        try:
            return self.rpc.getState()["statename"] == "RUNNING"
        except Exception:  # no socket yet, or a half-open connection: not running (yet)
            self.rpc = self._connect()
            return False

    def ensure_started(self) -> None:
        """Start supervisord, or make a running one pick up a changed program list."""
        if self.is_running():
            added, changed, removed = self.rpc.reloadConfig()[0]
            for name in removed + changed:
                self.stop(name)
                self.rpc.removeProcessGroup(name)
            for name in changed + added:
                self.rpc.addProcessGroup(name)
            return
        self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "supervisor.supervisord", "-c", str(self.settings.supervisor_conf)], check=True)
        deadline = time.monotonic() + 15
        while not self.is_running():
            if time.monotonic() > deadline:
                raise SystemExit("supervisord did not start: see " + str(self.settings.logs_dir / "supervisord.log"))
            time.sleep(0.1)

    def info(self, name: str) -> dict:
        return self.rpc.getProcessInfo(name)

    def all_info(self) -> dict[str, dict]:
        return {info["name"]: info for info in self.rpc.getAllProcessInfo()}

    def start(self, name: str) -> None:
        try:
            self.rpc.startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise

    def stop(self, name: str) -> None:
        try:
            self.rpc.stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                raise

    def kill(self, name: str) -> None:
        """SIGKILL the server itself; autorestart brings it back like `restart: unless-stopped`."""
        self.rpc.signalProcess(name, "KILL")

    def shutdown(self) -> None:
        self.rpc.shutdown()
