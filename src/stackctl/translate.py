"""Translate the compose model into native "containers".

Each compose service becomes a `NativeService`: the same command, environment,
dependencies and health check, with three rewrites that make a shared machine look
like a set of containers:

1. Addresses: every service gets its own loopback address ({net}.N) and keeps its
   compose port. Host names of other services, and the service's own `localhost`
   or `0.0.0.0`, are replaced by addresses wherever they appear as `host:port`,
   `scheme://host`, `@host` or a whole value.
2. Paths: bind-mounted files are copied (with the same rewrites) under the state
   directory; named volumes become directories there; each container gets a private
   /tmp. Container paths in commands and environment point at those copies.
3. Publishing: a service with `ports:` runs on 127.0.0.1 when the stack publishes
   ports, so http://localhost:8080 is the shop in both runtimes.
"""

import re
from dataclasses import asdict, dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from stackctl.images import NativeImage, native_image_for
from stackctl.settings import StackSettings

PUBLISH_ADDRESS = "127.0.0.1"
RESTART_POLICIES = {"no", "always", "unless-stopped", "on-failure"}
DOCKER_SOCKET = "/var/run/docker.sock"


@dataclass
class Mount:
    source: Path  # on the host (bind) or under state/volumes (named)
    target: str  # path inside the container
    native_path: Path  # where the native process finds it
    is_file: bool
    read_only: bool
    content: str | None = None  # a bind-mounted file, rewritten for this runtime


@dataclass
class NativeService:
    name: str
    kind: str
    address: str
    argv: list[str]
    env: dict[str, str]
    user: str | None
    restart: str
    depends_on: dict[str, str]
    healthcheck: list[str] | None
    health_interval: float
    ports: list[int]
    published: bool
    stop_signal: str
    container_dir: Path
    mounts: list[Mount] = field(default_factory=list)

    @property
    def oneshot(self) -> bool:
        return self.restart == "no"

    @property
    def absent(self) -> bool:
        return self.kind == "absent"

    def to_json(self) -> dict:
        data = asdict(self)
        data["container_dir"] = str(self.container_dir)
        data["mounts"] = [
            {**asdict(m), "source": str(m.source), "native_path": str(m.native_path)} for m in self.mounts
        ]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "NativeService":
        mounts = [
            Mount(**{**m, "source": Path(m["source"]), "native_path": Path(m["native_path"])})
            for m in data["mounts"]
        ]
        return cls(**{**data, "container_dir": Path(data["container_dir"]), "mounts": mounts})


# ---------------------------------------------------------------- address rewriting


def assign_addresses(services: dict, settings: StackSettings) -> dict[str, str]:
    """Give every service a stable loopback address; publishing services get 127.0.0.1 when publishing."""
    addresses = {}
    for index, name in enumerate(sorted(services), start=1):
        publishes = bool(services[name].get("ports"))
        addresses[name] = PUBLISH_ADDRESS if (publishes and settings.publish) else f"{settings.net}.{index}"
    return addresses


def host_pattern(names: list[str]) -> re.Pattern:
    """A candidate host name: not inside a longer word, dotted name or path segment."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])({alternatives})(?![\w.-])")


def rewrite_hosts(text: str, addresses: dict[str, str], own_address: str) -> str:
    """Replace host names by loopback addresses where the text uses them as hosts.

    A name is a host before `:port`, after `//` or `@`, or after `host=`; `localhost`
    and `0.0.0.0` (this container itself) also when they are the whole value. Elsewhere
    a name is left alone: `REPLICA_NAME=users-1`, `celery ... worker`, `/etc/nginx/`.
    """
    table = {**addresses, "localhost": own_address, "0.0.0.0": own_address}

    def replace(match: re.Match) -> str:
        name, start, end = match.group(1), match.start(), match.end()
        before, after = text[max(0, start - 5) : start], text[end : end + 2]
        is_host = (
            re.match(r":\d", after) is not None
            or before.endswith(("//", "@", "host="))
            or (name in ("localhost", "0.0.0.0") and start == 0 and end == len(text))
        )
        return table[name] if is_host else name

    return host_pattern(list(table)).sub(replace, text)


def rewrite_env_value(key: str, value: str, addresses: dict[str, str], own_address: str) -> str:
    """Environment values: as `rewrite_hosts`, and a variable named *_HOST holds a bare host name."""
    if key.endswith("_HOST") and value in addresses:
        return addresses[value]
    return rewrite_hosts(value, addresses, own_address)


# ---------------------------------------------------------------- path rewriting


def parse_volume(spec: str, container_dir: Path, state_dir: Path) -> Mount:
    """Parse "source:target[:ro]" from `docker-compose config` into a native mount."""
    parts = spec.split(":")
    source, target = parts[0], parts[1]
    read_only = len(parts) > 2 and "ro" in parts[2].split(",")
    if source.startswith("/"):
        host_source = Path(source)
        is_file = host_source.is_file()
        native_path = (container_dir / "rootfs" / target.lstrip("/")) if is_file else host_source
        return Mount(host_source, target, native_path, is_file, read_only)
    volume_dir = state_dir / "volumes" / source
    return Mount(volume_dir, target, volume_dir, False, read_only)


def rewrite_paths(text: str, mounts: list[Mount], container_tmp: Path) -> str:
    """Point container paths (mount targets, /tmp) at their native locations, in one pass
    (a native path may itself live under /tmp and must not be rewritten twice)."""
    table = {mount.target: str(mount.native_path) for mount in mounts}
    table.setdefault("/tmp", str(container_tmp))
    alternatives = "|".join(re.escape(target) for target in sorted(table, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w/.-])({alternatives})(?=$|/|[\s;'\"])")
    return pattern.sub(lambda match: table[match.group(1)], text)


def render_config(text: str, image: NativeImage, address: str, rewrite) -> str:
    """A mounted config file for this runtime: host names and paths rewritten, nginx `listen` and
    pgbouncer's `listen_addr` bound to this container's address."""
    text = rewrite(text)
    if image.kind == "nginx":
        text = re.sub(r"(\blisten\s+)(\d+)", rf"\g<1>{address}:\2", text)
    if image.kind == "pgbouncer":
        text = re.sub(r"(?m)^(listen_addr\s*=\s*).*$", rf"\g<1>{address}", text)
    return text


# ---------------------------------------------------------------- one service


def translate_service(
    name: str, service: dict, addresses: dict[str, str], settings: StackSettings
) -> NativeService:
    """Build the native form of one compose service."""
    image = native_image_for(service.get("image"), built_here="build" in service)
    address = addresses[name]
    container_dir = settings.state_dir / "containers" / name
    container_tmp = container_dir / "tmp"
    # The Docker socket (mounted into the lab's control API by the compose profile "lab") means
    # nothing natively: the native control API drives supervisord instead.
    mounts = [parse_volume(v, container_dir, settings.state_dir) for v in service.get("volumes", [])
              if not v.startswith(DOCKER_SOCKET + ":")]

    def rewrite(text: str) -> str:
        return rewrite_paths(rewrite_hosts(text, addresses, address), mounts, container_tmp)

    env = {**image.default_env, **{k: str(v) for k, v in (service.get("environment") or {}).items()}}
    env = {key: rewrite_paths(rewrite_env_value(key, value, addresses, address), mounts, container_tmp)
           for key, value in env.items()}
    env.update({key: value.format(address=address, tmp=container_tmp) for key, value in image.native_env.items()})
    for mount in mounts:
        if mount.is_file:
            mount.content = render_config(mount.source.read_text(), image, address, rewrite)
    command = command_of(service, image)  # empty for an absent image
    argv = [rewrite_paths(arg, mounts, container_tmp) if index == 0 else rewrite(arg)
            for index, arg in enumerate(command)]
    if not service.get("entrypoint"):
        argv += native_listen_args(image, argv, address, container_tmp)

    health = service.get("healthcheck") or {}
    restart = service.get("restart", "no")
    if restart not in RESTART_POLICIES:
        raise SystemExit(f"{name}: unknown restart policy {restart!r}")
    ports = published_ports(name, service)
    return NativeService(
        name=name,
        kind=image.kind,
        address=address,
        argv=argv,
        env=env,
        user=service.get("user") or image.user,
        restart=restart,
        depends_on={dep: spec.get("condition", "service_started") for dep, spec in (service.get("depends_on") or {}).items()},
        healthcheck=healthcheck_argv(health.get("test"), rewrite),
        health_interval=parse_duration(health.get("interval", "5s")),
        ports=ports,
        published=bool(ports) and address == PUBLISH_ADDRESS,
        stop_signal=image.stop_signal,
        container_dir=container_dir,
        mounts=mounts,
    )


def command_of(service: dict, image: NativeImage) -> list[str]:
    """entrypoint + command, as `docker run` would combine them."""
    entrypoint = service.get("entrypoint") or []
    command = service.get("command")
    if isinstance(entrypoint, str):
        entrypoint = ["sh", "-c", entrypoint]
    if isinstance(command, str):
        command = ["sh", "-c", command]
    if entrypoint:
        return [*entrypoint, *(command or [])]
    if command and image.default_command and not command[0].startswith("-"):
        return list(command)
    return [*image.default_command, *(command or [])]


def native_listen_args(image: NativeImage, argv: list[str], address: str, tmp: Path) -> list[str]:
    """The image's native listen arguments, minus a `-c name=...` setting the command makes itself
    (a compose command that puts the Postgres socket on a shared volume keeps it there)."""
    args = [arg.format(address=address, tmp=tmp) for arg in image.listen_args]
    own = {value.split("=", 1)[0] for flag, value in zip(argv, argv[1:]) if flag == "-c"}
    kept = []
    for flag, value in zip(args[0::2], args[1::2]):  # listen_args are (flag, value) pairs
        if not (flag == "-c" and value.split("=", 1)[0] in own):
            kept += [flag, value]
    return kept


def healthcheck_argv(test, rewrite) -> list[str] | None:
    """Compose `healthcheck.test` as an argv: CMD runs directly, CMD-SHELL through sh."""
    if not test or test == ["NONE"]:
        return None
    if isinstance(test, str):
        return ["sh", "-c", rewrite(test)]
    form, *args = test
    if form == "CMD-SHELL":
        return ["sh", "-c", rewrite(" ".join(args))]
    executable, *rest = args
    return [executable, *(rewrite(arg) for arg in rest)]


def published_ports(name: str, service: dict) -> list[int]:
    """Published ports; natively the host port must equal the container port."""
    ports = []
    for port in service.get("ports", []):
        published, target = (int(port["published"]), int(port["target"])) if isinstance(port, dict) else _short_port(port)
        if published != target:
            raise SystemExit(f"{name}: publish a port under its own number ({published}:{target})")
        ports.append(target)
    return ports


def _short_port(spec: str) -> tuple[int, int]:
    *_, published, target = str(spec).split(":")
    return int(published), int(target.split("/")[0])


def parse_duration(value) -> float:
    """Compose durations: "5s", "1m30s", "500ms"."""
    if isinstance(value, (int, float)):
        return float(value)
    total = 0.0
    for amount, unit in re.findall(r"([\d.]+)(ms|s|m|h)", value):
        total += float(amount) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


# ---------------------------------------------------------------- whole stack


def translate(compose: dict, settings: StackSettings) -> dict[str, NativeService]:
    """Translate every compose service; refuse two services listening on one address:port."""
    services = compose["services"]
    addresses = assign_addresses(services, settings)
    native = {name: translate_service(name, services[name], addresses, settings) for name in services}
    check_published_ports_unique(native)
    return native


def check_published_ports_unique(native: dict[str, NativeService]) -> None:
    seen: dict[tuple[str, int], str] = {}
    for service in native.values():
        for port in service.ports:
            key = (service.address, port)
            if key in seen:
                raise SystemExit(f"{service.name} and {seen[key]} both publish port {port}")
            seen[key] = service.name


def start_order(native: dict[str, NativeService]) -> list[str]:
    """A dependency order (the standard library's topological sort, each ready batch sorted by name);
    a cycle is an error in the compose file."""
    sorter = TopologicalSorter({name: service.depends_on for name, service in native.items()})
    try:
        sorter.prepare()
    except CycleError as error:
        raise SystemExit(f"dependency cycle among: {', '.join(sorted(set(error.args[1])))}") from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order
