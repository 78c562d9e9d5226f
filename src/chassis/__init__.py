"""The microservice chassis: cross-cutting code that every ScaleShop service shares.

settings (env-driven config), db (async engine + sessions), cache (Redis client),
logs (structlog JSON with request id), metrics (RED metrics, multiprocess-safe),
middleware (request id + metrics per request), health (live vs ready), errors
(JSON error bodies, 503 naming the failed dependency), balancer (client-side load
balancing with failover), app (the FastAPI factory that wires them), and the
process-level pieces: gunicorn_conf, healthcheck (compose probe), migrate (prestart).
Keep this package import-light: `chassis.healthcheck` runs every few seconds.
"""
