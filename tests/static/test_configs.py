"""Static checks of the topology and of the configs the native runtime renders from it."""

import subprocess
from pathlib import Path

import pytest

from compose_model import compose_model
from stackctl.settings import StackSettings
from stackctl.translate import translate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    settings = StackSettings(project_dir=ROOT, compose_file=ROOT / "docker-compose.yml", state_dir=state,
                             net="127.9.0", publish=False, venv_bin=ROOT / ".venv/bin",
                             postgres_bin=Path("/usr/lib/postgresql/15/bin"))
    return translate(compose_model(), settings)


def rendered(service, target: str, directory: Path) -> Path:
    mount = next(m for m in service.mounts if m.target == target)
    path = directory / Path(target).name
    path.write_text(mount.content)
    return path


def test_compose_file_is_valid():
    result = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_compose_service_has_a_healthcheck_and_a_restart_policy():
    services = compose_model()["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert service.get("restart") in ("unless-stopped", "no"), f"{name}: restart {service.get('restart')}"
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert spec["condition"] in ("service_healthy", "service_completed_successfully"), (name, dependency)


def lay_out(service) -> None:
    """The files a native container sees: mounted configs at their native paths, volume directories."""
    for mount in service.mounts:
        if mount.is_file:
            mount.native_path.parent.mkdir(parents=True, exist_ok=True)
            mount.native_path.write_text(mount.content)
        elif not mount.source.exists():
            mount.native_path.mkdir(parents=True, exist_ok=True)
    (service.container_dir / "tmp").mkdir(parents=True, exist_ok=True)


def test_rendered_edge_passes_nginx_t_with_its_modules_certificate_and_algorithm(native):
    """edge-init as the native runtime runs it (mkcert CA + certificate, default algorithm), then
    `nginx -t` on the rendered nginx.conf with its includes: modules load, TLS files exist."""
    init, nginx = native["edge-init"], native["nginx"]
    lay_out(init)
    lay_out(nginx)
    done = subprocess.run(init.argv, env={**init.env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    config = next(m for m in nginx.mounts if m.target == "/etc/nginx/nginx.conf").native_path
    tmp = nginx.container_dir / "tmp"
    result = subprocess.run(["nginx", "-t", "-p", str(tmp), "-c", str(config), "-e", str(tmp / "error.log")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    lb = next(m for m in nginx.mounts if m.target == "/etc/nginx/runtime").native_path / "lb.conf"
    assert lb.read_text().strip() == "default gateways_least_conn;"


def test_rendered_prometheus_config_passes_promtool(native, tmp_path):
    prometheus = native["prometheus"]
    config = rendered(prometheus, "/etc/prometheus/prometheus.yml", tmp_path)
    result = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert native["users-1"].address + ":8000" in config.read_text()
