"""A replica's version is visible three ways (seed: "Zero-Downtime Deployment"): /health/live, the
X-Service-Version response header and the service_version_info metric, all from SERVICE_VERSION."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from chassis import health
from chassis.metrics.web import VERSION_INFO
from chassis.middleware import RequestContextMiddleware
from chassis.settings import ServiceSettings


def app(settings: ServiceSettings) -> FastAPI:
    application = FastAPI()
    application.state.settings = settings
    application.add_middleware(RequestContextMiddleware, service=settings.service_name,
                               replica=settings.replica_name, version=settings.service_version)
    application.include_router(health.router)
    VERSION_INFO.labels(settings.service_name, settings.replica_name, settings.service_version).set(1)
    return application


def test_the_version_setting_shows_in_health_header_and_metric(monkeypatch):
    monkeypatch.setenv("SERVICE_VERSION", "v2")
    settings = ServiceSettings(service_name="demo", replica_name="demo-3")
    answer = TestClient(app(settings)).get("/health/live")
    assert answer.json() == {"status": "ok", "replica": "demo-3", "version": "v2"}
    assert answer.headers["x-service-version"] == "v2"
    assert 'service_version_info{replica="demo-3",service="demo",version="v2"} 1.0' in generate_latest().decode()


def test_without_the_setting_a_replica_is_v1():
    assert ServiceSettings().service_version == "v1"
