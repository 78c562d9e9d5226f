"""Knobs of the control API. It drives the runtime the stack runs on, so it refuses to
answer at all outside ENVIRONMENT=development (see control/auth.py)."""

from functools import cache

from chassis.settings import ServiceSettings


class ControlSettings(ServiceSettings):
    service_name: str = "control"
    # Where load shapes are sent: the edge, as a shopper would reach it.
    control_load_host: str = "http://localhost:8080"
    control_load_max_users: int = 50
    control_load_max_seconds: int = 600
    # Under Docker: the Engine API's socket, mounted only by the compose profile "lab".
    docker_socket: str = "/var/run/docker.sock"
    # Linked from the lab under Docker (Grafana has no native package).
    grafana_url: str = ""
    # How often component health is probed natively (HTTP probes; command probes use their compose interval).
    control_health_interval_seconds: float = 2.0


@cache
def get_settings() -> ControlSettings:
    return ControlSettings()
