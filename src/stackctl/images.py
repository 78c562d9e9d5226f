"""Which native binary stands in for which container image.

A container image bundles a binary, its default command, its default environment,
where it listens and how it wants to be stopped. Natively the binary comes from a
Debian package; this table records the rest of what the image would have given.
`listen_args` are appended so a server binds its own loopback address instead of
the image's "all interfaces" default (two containers may share a port).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NativeImage:
    kind: str
    default_command: tuple[str, ...] = ()
    default_env: dict[str, str] = field(default_factory=dict)
    # Extra arguments natively, formatted with {address} and {tmp} (the container's private /tmp).
    listen_args: tuple[str, ...] = ()
    # Extra environment natively, formatted the same way (for scripts that start the server themselves).
    native_env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    # Like the image's STOPSIGNAL.
    stop_signal: str = "TERM"


POSTGRES = NativeImage(
    kind="postgres",
    default_command=("postgres",),
    default_env={"PGDATA": "/var/lib/postgresql/data"},
    # The official image's entrypoint sets listen_addresses='*'; natively each cluster binds its own.
    listen_args=("-c", "listen_addresses={address}", "-c", "unix_socket_directories={tmp}"),
    native_env={"LISTEN_ADDRESSES": "{address}", "SOCKET_DIR": "{tmp}"},
    user="postgres",
    stop_signal="INT",  # fast shutdown, as the official image does
)

NATIVE_IMAGES: dict[str, NativeImage] = {
    "postgres": POSTGRES,
    "redis": NativeImage(
        kind="redis",
        default_command=("redis-server",),
        listen_args=("--bind", "{address}", "--dir", "{tmp}"),
    ),
    "nginx": NativeImage(
        kind="nginx",
        default_command=("nginx", "-c", "/etc/nginx/nginx.conf"),
        # -e: without it nginx opens /var/log/nginx/error.log before reading the config.
        listen_args=("-p", "{tmp}", "-e", "{tmp}/error.log", "-g", "daemon off;"),
        stop_signal="QUIT",  # graceful: finish in-flight requests
    ),
    "prom/prometheus": NativeImage(kind="prometheus", default_command=("prometheus",)),
    "quay.io/prometheuscommunity/postgres-exporter": NativeImage(
        kind="exporter", default_command=("prometheus-postgres-exporter",)
    ),
    "oliver006/redis_exporter": NativeImage(kind="exporter", default_command=("prometheus-redis-exporter",)),
    "nginx/nginx-prometheus-exporter": NativeImage(
        kind="exporter", default_command=("prometheus-nginx-exporter",)
    ),
    # No Debian package: natively Grafana is reported absent (tests check its panels' PromQL instead).
    "grafana/grafana": NativeImage(kind="absent"),
    # Built from infra/ Dockerfiles around Debian packages: natively, the same Debian binaries.
    "scaleshop-patroni": NativeImage(
        kind="patroni", default_command=("patroni", "/etc/patroni/patroni.yml"), user="postgres"
    ),
    "scaleshop-etcd": NativeImage(kind="etcd", default_command=("etcd",), user="etcd"),
    # pgbouncer refuses to run as root (and exits 0 without a word): it runs as postgres.
    "scaleshop-pgbouncer": NativeImage(
        kind="pgbouncer", default_command=("pgbouncer", "/etc/pgbouncer/pgbouncer.ini"), user="postgres"
    ),
}
# The images built from infra/docker/Dockerfile package the same Debian binaries: same stand-ins.
NATIVE_IMAGES |= {
    "scaleshop-postgres": NATIVE_IMAGES["postgres"],
    "scaleshop-redis": NATIVE_IMAGES["redis"],
    "scaleshop-nginx": NATIVE_IMAGES["nginx"],
    "scaleshop-prometheus": NATIVE_IMAGES["prom/prometheus"],
    "scaleshop-postgres-exporter": NATIVE_IMAGES["quay.io/prometheuscommunity/postgres-exporter"],
    "scaleshop-redis-exporter": NATIVE_IMAGES["oliver006/redis_exporter"],
    "scaleshop-nginx-exporter": NATIVE_IMAGES["nginx/nginx-prometheus-exporter"],
}

# Images built from this repository's Dockerfile run from the project's virtualenv.
APP = NativeImage(kind="app")


def native_image_for(image: str | None, built_here: bool) -> NativeImage:
    """The native stand-in of a compose service's image, or SystemExit naming the unknown image.

    Infrastructure images are built here too (infra/docker/Dockerfile), so the image's name, not
    its `build:`, says what it is; a built image with no entry above is a Python component."""
    name = (image or "").rsplit(":", 1)[0] if ":" in (image or "").split("/")[-1] else (image or "")
    if name in NATIVE_IMAGES:
        return NATIVE_IMAGES[name]
    if built_here or name.startswith("scaleshop-app"):
        return APP
    raise SystemExit(f"no native stand-in for image {image!r}: add it to stackctl/images.py")
