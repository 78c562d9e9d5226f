"""JSON logs with the request id, service and replica on every line (structlog).

The request id is bound in a contextvar by the middleware, so every log line a
request causes, in any module, carries it; `grep <id> .stack/logs/*` finds one
request's whole path (nginx -> gateway -> service -> Celery task).
"""

import logging
import sys

import structlog


def configure_logging(service: str, replica: str, level: str = "info") -> None:
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service, replica=replica)
    # Libraries that log through the standard library (uvicorn, gunicorn, celery) get the same JSON.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processor=structlog.processors.JSONRenderer(),
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name,
                           lambda _, __, event: {**event, "service": service, "replica": replica}],
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # gunicorn's error log does not propagate to the root, and uvicorn's worker class copies its
    # handlers to "uvicorn.error": give both the JSON handler. gunicorn preloads the app, so this
    # runs in the master before it forks, and every worker inherits it.
    for server_logger in ("gunicorn.error", "uvicorn.error"):
        logging.getLogger(server_logger).handlers = [handler]
        logging.getLogger(server_logger).propagate = False
    for noisy in ("uvicorn.access",):  # the middleware logs each request once, with its id
        logging.getLogger(noisy).handlers = []
        logging.getLogger(noisy).propagate = False


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
