"""JSON logs with the request id, service and replica on every line (structlog).

The request id is bound in a contextvar by the middleware, so every log line a
request causes, in any module, carries it; `grep <id> .stack/logs/*` finds one
request's whole path (nginx -> gateway -> service -> Celery task).

A web service writes one access line per request, so its lines are written in
batches, like nginx's `access_log ... buffer= flush=`: up to PIPE_BUF bytes (a
write that size to a pipe is atomic, so lines of two processes never interleave) or
every FLUSH_SECONDS, and warnings and errors at once. Measured under bench scenario
1: one write per line cost each hop ~9% of its CPU, and the process relaying the
lines (supervisord natively, the container runtime under Docker) 0.1 ms per request.
"""

import atexit
import logging
import os
import select
import sys
import threading
import time
from typing import BinaryIO

import orjson
import structlog

SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
# The one renderer: every line, ours or a library's, is the same JSON (orjson renders straight to
# bytes, written without an encode step: every request logs a line, so this is on the hot path;
# measured: ~11% of a cached product read's CPU was logging).
RENDER = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(serializer=orjson.dumps)]


def _as_text(_, __, line: bytes) -> str:
    return line.decode()  # the standard library's handlers write text


def json_formatter(service: str, replica: str) -> logging.Formatter:
    """The formatter that renders standard-library records (uvicorn, gunicorn, celery) through RENDER."""
    return structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *RENDER, _as_text],
        foreign_pre_chain=[*SHARED_PROCESSORS, structlog.stdlib.add_logger_name,
                           lambda _, __, event: {**event, "service": service, "replica": replica}],
    )


FLUSH_SECONDS = 0.25


class BatchedLineWriter:
    """structlog's output: debug/info lines batched, warnings and errors flushed with everything before them."""

    def __init__(self, stream: BinaryIO, flush_seconds: float = FLUSH_SECONDS):
        # Its own buffer on the same file descriptor (the buffer's size is the batch).
        self.output = open(stream.fileno(), "wb", buffering=select.PIPE_BUF, closefd=False)
        self.flush_seconds = flush_seconds
        self.flusher: threading.Thread | None = None

    def start(self) -> None:
        """A daemon thread flushes what is buffered every flush_seconds (started in the process that logs)."""
        if self.flusher is None or not self.flusher.is_alive():
            self.flusher = threading.Thread(target=self._flush_forever, name="log-flusher", daemon=True)
            self.flusher.start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self.flush_seconds)
            self.flush()

    def msg(self, line: bytes) -> None:
        self.output.write(line + b"\n")

    debug = info = msg

    def warning(self, line: bytes) -> None:
        self.output.write(line + b"\n")
        self.flush()

    warn = error = err = critical = exception = fatal = failure = warning

    def flush(self) -> None:
        try:
            self.output.flush()
        except (OSError, ValueError):  # the reader went away at shutdown: nothing left to tell it
            pass


def configure_logging(service: str, replica: str, level: str = "info", *, batched: bool = False) -> None:
    """JSON logs for this process. `batched`: access-log volume (web services); otherwise each line at once."""
    if batched:
        writer = BatchedLineWriter(sys.stdout.buffer)
        writer.start()
        atexit.register(writer.flush)
        logger_factory = lambda *_: writer  # noqa: E731  (one writer, whichever module logs)
    else:
        logger_factory = structlog.BytesLoggerFactory(sys.stdout.buffer)
    structlog.configure(
        processors=[*SHARED_PROCESSORS, *RENDER],
        logger_factory=logger_factory,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service, replica=replica)
    # Libraries that log through the standard library (uvicorn, gunicorn, celery) get the same JSON.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(json_formatter(service, replica))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # gunicorn's error log does not propagate to the root, and uvicorn's worker class copies its
    # handlers to "uvicorn.error": in a worker that loads the app, give both the JSON handler.
    for server_logger in ("gunicorn.error", "uvicorn.error"):
        logging.getLogger(server_logger).handlers = [handler]
        logging.getLogger(server_logger).propagate = False
    for noisy in ("uvicorn.access",):  # the middleware logs each request once, with its id
        logging.getLogger(noisy).handlers = []
        logging.getLogger(noisy).propagate = False


def gunicorn_logconfig() -> dict:
    """gunicorn's `logconfig_dict`: the master's own lines (start, worker boot and exit) as JSON too."""
    service, replica = os.environ.get("SERVICE_NAME", "service"), os.environ.get("REPLICA_NAME", "local")
    level = os.environ.get("LOG_LEVEL", "info").upper()
    logger = {"level": level, "handlers": ["json"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": json_formatter, "service": service, "replica": replica}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {"gunicorn.error": {**logger, "qualname": "gunicorn.error"},
                    "gunicorn.access": {**logger, "qualname": "gunicorn.access"}},
    }


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
