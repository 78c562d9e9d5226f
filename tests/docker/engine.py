"""The Docker Engine API, spoken directly (httpx over the engine's unix socket).

The tests of the Docker path look at containers the way compose does: through the API that a
real Docker engine and podman's `system service` both serve. No docker CLI is needed.
"""

import json
import os
import struct

import httpx


class Engine:
    def __init__(self, project: str) -> None:
        socket = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
        self.http = httpx.Client(transport=httpx.HTTPTransport(uds=socket), base_url="http://engine/v1.41",
                                 timeout=60)
        self.project = project

    def containers(self) -> dict[str, dict]:
        """compose service name -> the inspected container (State, Config, Image...)."""
        filters = json.dumps({"label": [f"com.docker.compose.project={self.project}"]})
        listed = self.http.get("/containers/json", params={"all": "true", "filters": filters}).json()
        inspected = [self.http.get(f"/containers/{c['Id']}/json").json() for c in listed]
        return {c["Config"]["Labels"]["com.docker.compose.service"]: c for c in inspected}

    def container_id(self, service: str) -> str:
        return self.containers()[service]["Id"]

    def exec(self, service: str, *argv: str) -> tuple[int, str]:
        """Run argv inside the service's container; its exit code and output."""
        created = self.http.post(f"/containers/{self.container_id(service)}/exec",
                                 json={"Cmd": list(argv), "AttachStdout": True, "AttachStderr": True})
        created.raise_for_status()
        exec_id = created.json()["Id"]
        started = self.http.post(f"/exec/{exec_id}/start", json={"Detach": False, "Tty": False})
        output = demultiplex(started.content)
        exit_code = self.http.get(f"/exec/{exec_id}/json").json()["ExitCode"]
        return exit_code, output


def demultiplex(stream: bytes) -> str:
    """The attach stream without a TTY: frames of [stream type, 0, 0, 0, big-endian size] + payload."""
    chunks, offset = [], 0
    while offset + 8 <= len(stream):
        (size,) = struct.unpack(">I", stream[offset + 4 : offset + 8])
        chunks.append(stream[offset + 8 : offset + 8 + size])
        offset += 8 + size
    return b"".join(chunks).decode(errors="replace")


def health(container: dict) -> str:
    """'healthy', 'unhealthy', 'starting', or the state of a container without a check."""
    state = container["State"]
    if state.get("Status") != "running":
        return f"{state.get('Status')}({state.get('ExitCode')})"
    return ((state.get("Health") or {}).get("Status")) or "running"
