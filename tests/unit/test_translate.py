"""The compose -> native translation: host rewriting, port publishing, dependency order, health checks."""

from dataclasses import replace
from pathlib import Path

import pytest

from compose_model import compose_model
from stackctl.settings import StackSettings
from stackctl.translate import (
    assign_addresses,
    parse_duration,
    rewrite_env_value,
    rewrite_hosts,
    rewrite_paths,
    start_order,
    translate,
    parse_volume,
)

ROOT = Path(__file__).resolve().parents[2]
ADDRESSES = {"users-db": "127.9.0.1", "redis": "127.9.0.2", "gateway-1": "127.9.0.3", "products-db": "127.9.0.4",
             "products-db-replica": "127.9.0.5", "worker": "127.9.0.6", "nginx": "127.9.0.7"}
OWN = "127.9.0.99"


@pytest.fixture
def settings(tmp_path) -> StackSettings:
    return StackSettings(project_dir=ROOT, compose_file=ROOT / "docker-compose.yml", state_dir=tmp_path / "state",
                         net="127.9.0", publish=False, venv_bin=ROOT / ".venv/bin",
                         postgres_bin=Path("/usr/lib/postgresql/15/bin"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return compose_model()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql+asyncpg://users:pw@users-db:5432/users", "postgresql+asyncpg://users:pw@127.9.0.1:5432/users"),
        ("redis://redis:6379/0", "redis://127.9.0.2:6379/0"),
        ("server gateway-1:8000 max_fails=1;", "server 127.9.0.3:8000 max_fails=1;"),
        ("targets: ['products-db-replica:9187']", "targets: ['127.9.0.5:9187']"),
        ("host=products-db port=5432", "host=127.9.0.4 port=5432"),
        ("0.0.0.0:8000", f"{OWN}:8000"),
        ("http://localhost:8000/health/ready", f"http://{OWN}:8000/health/ready"),
        ("localhost", OWN),
    ],
)
def test_host_names_are_rewritten_where_they_name_a_host(text, expected):
    assert rewrite_hosts(text, ADDRESSES, OWN) == expected


@pytest.mark.parametrize(
    "text",
    [
        "labels: {service: users, replica: gateway-1}",  # a label value, not a host
        "worker",  # `celery ... worker` subcommand that happens to be a service name
        "worker.celery_app",
        "/etc/nginx/nginx.conf",
        "http://localhost:8080/nginx-health"[len("http://localhost:8080") :],
        "products-db-replica-exporter",  # a longer name that merely starts with a service name
        "redis-server",
    ],
)
def test_other_uses_of_a_service_name_are_left_alone(text):
    assert rewrite_hosts(text, ADDRESSES, OWN) == text


def test_env_variables_named_host_hold_a_bare_host_name():
    assert rewrite_env_value("PRIMARY_HOST", "products-db", ADDRESSES, OWN) == "127.9.0.4"
    assert rewrite_env_value("REPLICA_NAME", "gateway-1", ADDRESSES, OWN) == "gateway-1"


def test_container_paths_point_at_native_copies(tmp_path):
    config = tmp_path / "nginx.conf"
    config.write_text("events {}")
    mounts = [parse_volume(f"{config}:/etc/nginx/nginx.conf:ro", tmp_path / "c", tmp_path),
              parse_volume("pgdata:/var/lib/postgresql/data", tmp_path / "c", tmp_path)]
    assert mounts[0].is_file and mounts[0].read_only
    assert rewrite_paths("-c /etc/nginx/nginx.conf", mounts, tmp_path / "tmp") == f"-c {mounts[0].native_path}"
    assert rewrite_paths("/var/lib/postgresql/data/pgdata", mounts, tmp_path / "tmp") == f"{tmp_path}/volumes/pgdata/pgdata"
    assert rewrite_paths("/tmp/prometheus-multiproc", mounts, tmp_path / "tmp") == f"{tmp_path}/tmp/prometheus-multiproc"
    assert rewrite_paths("/tmpfoo", mounts, tmp_path / "tmp") == "/tmpfoo"


def test_every_service_gets_its_own_address_unless_it_publishes(compose, settings):
    isolated = assign_addresses(compose["services"], settings)
    assert len(set(isolated.values())) == len(isolated)
    assert all(address.startswith("127.9.0.") for address in isolated.values())
    published = assign_addresses(compose["services"], replace(settings, publish=True))
    assert published["nginx"] == published["prometheus"] == "127.0.0.1"
    assert published["gateway-1"] == isolated["gateway-1"]


def test_translated_services_use_the_addresses_of_their_dependencies(compose, settings):
    native = translate(compose, settings)
    pooler, redis = native["pgbouncer"].address, native["redis"].address
    env = native["users-1"].env
    assert f"@{pooler}:6432/users" in env["DATABASE_URL"]  # through the pooler (infra/pgbouncer)
    assert f"@{native['users-db'].address}:5432/users" in native["users-migrate"].env["DATABASE_URL"]
    assert env["REDIS_URL"] == f"redis://{redis}:6379/0"
    assert env["REPLICA_NAME"] == "users-1"
    assert "--bind" in native["users-1"].argv and f"{native['users-1'].address}:8000" in native["users-1"].argv
    node_1, node_2 = native["products-db-1"].address, native["products-db-2"].address
    products = native["products-1"].env
    assert f"?host={node_1}:5432&host={node_2}:5432&target_session_attrs=read-write" in products["DATABASE_URL"]
    assert f"?host={node_2}:5432&host={node_1}:5432&target_session_attrs=prefer-standby" in products["DATABASE_REPLICA_URL"]
    assert native["products-db-1"].env["PATRONI_RESTAPI_CONNECT_ADDRESS"] == f"{node_1}:8008"
    assert native["products-db-1"].env["PATRONI_ETCD3_HOSTS"] == f"{native['etcd'].address}:2379"
    nginx_conf = next(m for m in native["nginx"].mounts if m.target == "/etc/nginx/nginx.conf")
    upstreams = next(m for m in native["nginx"].mounts if m.target == "/etc/nginx/scaleshop/upstreams.conf")
    assert f"server {native['gateway-1'].address}:8000" in upstreams.content
    assert f"listen {native['nginx'].address}:8080;" in nginx_conf.content


def test_images_map_to_native_binaries_bound_to_their_address(compose, settings):
    native = translate(compose, settings)
    redis = native["redis"]
    assert redis.argv[0] == "redis-server" and redis.argv[-4:-2] == ["--bind", redis.address]
    postgres = native["users-db"]
    assert postgres.argv[0] == "postgres" and f"listen_addresses={postgres.address}" in postgres.argv
    assert postgres.user == "postgres" and postgres.stop_signal == "INT"
    assert native["prometheus"].argv[0] == "prometheus"
    assert native["grafana"].absent


def test_a_command_that_sets_the_socket_directory_keeps_it(compose, settings):
    """The databases put their socket on the data volume (for pgBackRest in the backup container):
    natively only listen_addresses is added, the command's unix_socket_directories stays."""
    postgres = translate(compose, settings)["orders-db"]
    pgdata = next(m.native_path for m in postgres.mounts if m.target == "/var/lib/postgresql/data")
    sockets = [arg for arg in postgres.argv if arg.startswith("unix_socket_directories=")]
    assert sockets == [f"unix_socket_directories={pgdata}"]
    assert f"listen_addresses={postgres.address}" in postgres.argv


def test_infra_images_built_from_a_dockerfile_run_their_debian_binary(compose, settings):
    native = translate(compose, settings)
    node = native["products-db-1"]
    assert node.kind == "patroni" and node.user == "postgres" and node.argv[0] == "patroni"
    config = next(m for m in node.mounts if m.target == "/etc/patroni/patroni.yml")
    assert node.argv[1] == str(config.native_path)
    assert f"listen: {node.address}:8008" in config.content
    assert native["etcd"].kind == "etcd" and native["etcd"].argv[0] == "etcd"
    assert native["backup"].kind == "app"  # the backup scheduler is Python from this repository


def test_pgbouncer_runs_as_postgres_on_its_own_address_and_points_at_the_databases(compose, settings):
    """pgbouncer refuses root; its config binds this container's address and names database addresses;
    the entry script and the auth file it writes land in the container's own paths."""
    native = translate(compose, settings)
    pooler = native["pgbouncer"]
    assert pooler.kind == "pgbouncer" and pooler.user == "postgres"
    config = next(m for m in pooler.mounts if m.target == "/etc/pgbouncer/pgbouncer.ini")
    script = next(m for m in pooler.mounts if m.target == "/usr/local/bin/pgbouncer-entrypoint.sh")
    assert pooler.argv == ["sh", str(script.native_path)]
    assert f"listen_addr = {pooler.address}\n" in config.content
    assert f"orders = host={native['orders-db'].address} port=5432" in config.content
    tmp = pooler.container_dir / "tmp"
    assert f"auth_file = {tmp}/userlist.txt" in config.content
    assert f"exec pgbouncer {config.native_path}" in script.content and f"{tmp}/userlist.txt" in script.content
    assert f"@{pooler.address}:6432/orders" in native["orders-1"].env["DATABASE_URL"]


def test_health_checks_run_natively_against_the_service_address(compose, settings):
    native = translate(compose, settings)
    assert native["users-db"].healthcheck == ["pg_isready", "-h", native["users-db"].address, "-U", "users", "-d", "users"]
    assert native["users-1"].healthcheck[-1] == f"http://{native['users-1'].address}:8000/health/ready"
    assert native["users-1"].health_interval == 10


def test_start_order_respects_dependencies(compose, settings):
    native = translate(compose, settings)
    order = start_order(native)
    position = {name: index for index, name in enumerate(order)}
    for name, service in native.items():
        for dependency in service.depends_on:
            assert position[dependency] < position[name], f"{dependency} must start before {name}"
    assert native["users-1"].depends_on["users-migrate"] == "service_completed_successfully"
    assert native["users-migrate"].oneshot and not native["users-1"].oneshot


def test_a_dependency_cycle_is_refused(compose, settings):
    native = translate(compose, settings)
    native["redis"].depends_on = {"nginx": "service_healthy"}
    with pytest.raises(SystemExit, match="cycle"):
        start_order(native)


def test_compose_durations():
    assert parse_duration("5s") == 5 and parse_duration("1m30s") == 90 and parse_duration("500ms") == 0.5
