"""Static checks of the topology and of the configs the native runtime renders from it."""

import subprocess
from pathlib import Path

import pytest

from stackctl.compose import load_compose
from stackctl.settings import StackSettings
from stackctl.translate import translate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    settings = StackSettings(project_dir=ROOT, compose_file=ROOT / "docker-compose.yml", state_dir=state,
                             net="127.9.0", publish=False, venv_bin=ROOT / ".venv/bin",
                             postgres_bin=Path("/usr/lib/postgresql/15/bin"))
    return translate(load_compose(settings.compose_file), settings)


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
    services = load_compose(ROOT / "docker-compose.yml")["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert service.get("restart") in ("unless-stopped", "no"), f"{name}: restart {service.get('restart')}"
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert spec["condition"] in ("service_healthy", "service_completed_successfully"), (name, dependency)


def test_rendered_nginx_config_passes_nginx_t(native, tmp_path):
    nginx = native["nginx"]
    config = rendered(nginx, "/etc/nginx/nginx.conf", tmp_path)
    (nginx.container_dir / "tmp").mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "error.log")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_rendered_prometheus_config_passes_promtool(native, tmp_path):
    prometheus = native["prometheus"]
    config = rendered(prometheus, "/etc/prometheus/prometheus.yml", tmp_path)
    result = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert native["users-1"].address + ":8000" in config.read_text()
