"""The Docker side of the control API: the Docker Engine API over its unix socket.

DEVELOPMENT ONLY. Access to the Docker socket is root on the host: the socket is
mounted into the control container only by the compose profile `lab`
(`docker compose --profile lab up`, which `make up` uses under Docker), and the
control API refuses every call outside ENVIRONMENT=development. Never enable that
profile, or mount the socket, in production.

Components are the containers of this compose project (found from our own
container's labels); state and health come from Docker, which runs each compose
health check itself; kill/stop/start are the Engine API's.
"""

import os
import socket

import aiohttp

from control.topology import role_of, tier_of

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
DEPENDS_LABEL = "com.docker.compose.depends_on"
KINDS = {"postgres": "postgres", "redis": "redis", "nginx": "nginx", "prometheus": "prometheus", "exporter": "exporter"}


def kind_of(image: str) -> str:
    base = image.split("/")[-1].split(":")[0]
    for word, kind in KINDS.items():
        if word in base and not (word == "nginx" and "exporter" in base):
            return kind
    return "exporter" if "exporter" in base else "app"


class DockerRuntime:
    name = "docker"

    def __init__(self, socket_path: str):
        self.socket_path = socket_path
        self.session: aiohttp.ClientSession | None = None
        self.project: str | None = None

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=self.socket_path),
                                             timeout=aiohttp.ClientTimeout(total=15))
        own = await self._get(f"/containers/{socket.gethostname()}/json")
        self.project = own["Config"]["Labels"].get(PROJECT_LABEL) or os.environ.get("COMPOSE_PROJECT_NAME")

    async def close(self) -> None:
        if self.session:
            await self.session.close()

    async def _get(self, path: str, **params):
        async with self.session.get(f"http://docker{path}", params=params) as response:
            response.raise_for_status()
            return await response.json()

    async def _containers(self) -> dict[str, dict]:
        filters = '{"label": ["%s=%s"]}' % (PROJECT_LABEL, self.project)
        containers = await self._get("/containers/json", all="true", filters=filters)
        return {c["Labels"][SERVICE_LABEL]: c for c in containers}

    async def components(self) -> list[dict]:
        components = []
        for name, container in sorted((await self._containers()).items()):
            details = await self._get(f"/containers/{container['Id']}/json")
            state = details["State"]
            oneshot = details["HostConfig"]["RestartPolicy"]["Name"] in ("", "no")
            kind = kind_of(container["Image"])
            tier = tier_of(name, kind, oneshot)
            if oneshot:
                health = "completed" if state["Status"] == "exited" and state["ExitCode"] == 0 else state["Status"]
            elif state["Status"] == "running":
                health = state.get("Health", {}).get("Status", "healthy")
            else:
                health = "stopped"
            depends = container["Labels"].get(DEPENDS_LABEL, "")
            components.append({
                "name": name, "kind": kind, "tier": tier, "role": role_of(name, kind, tier),
                "state": "running" if state["Status"] == "running" else ("completed" if health == "completed" else "stopped"),
                "health": health, "address": None, "uptime_s": None,
                "depends_on": sorted(item.split(":")[0] for item in depends.split(",") if item),
            })
        return components

    async def known(self, name: str) -> bool:
        return name in await self._containers()

    async def act(self, name: str, action: str) -> str:
        container = (await self._containers())[name]
        async with self.session.post(f"http://docker/containers/{container['Id']}/{action}") as response:
            if response.status >= 400:
                raise RuntimeError(f"docker {action} {name}: {response.status} {await response.text()}")
        return f"docker {action} {name}: done"

    def logs(self, request_id: str, limit: int = 200) -> list[str]:
        raise NotImplementedError("under Docker: docker compose logs | grep " + request_id)

    def deploys(self, limit: int = 50) -> list[dict]:
        raise NotImplementedError("deploys are a native-runtime feature; under Docker see README "
                                  "'Shipping without downtime' for the compose equivalents")
