"""What every web worker sets up for itself: batched log output and a garbage collector kept off
the start-up heap. Both run in a child process, so this test process keeps its own settings."""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def run_child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(SRC)}, check=True)


def test_info_lines_wait_for_a_batch_and_a_warning_flushes_everything_before_it():
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    with os.fdopen(write_end, "wb", buffering=0) as stream:
        from chassis.logs import BatchedLineWriter

        writer = BatchedLineWriter(stream, flush_seconds=60)
        writer.info(b'{"event":"first"}')
        writer.info(b'{"event":"second"}')
        assert _read(read_end) == b""  # still in the batch
        writer.warning(b'{"event":"trouble"}')
        assert _read(read_end).splitlines() == [b'{"event":"first"}', b'{"event":"second"}', b'{"event":"trouble"}']
        writer.info(b"x" * 5000)  # bigger than a batch: written through, never split
        assert _read(read_end) == b"x" * 5000 + b"\n"
    os.close(read_end)


def test_the_background_flusher_writes_a_quiet_batch_within_its_interval():
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    with os.fdopen(write_end, "wb", buffering=0) as stream:
        from chassis.logs import BatchedLineWriter

        writer = BatchedLineWriter(stream, flush_seconds=0.05)
        writer.start()
        writer.info(b'{"event":"quiet"}')
        deadline = time.monotonic() + 5
        received = b""
        while not received and time.monotonic() < deadline:
            time.sleep(0.02)
            received = _read(read_end)
        assert received == b'{"event":"quiet"}\n'
    os.close(read_end)


def test_a_batched_process_logs_json_lines_and_flushes_them_at_exit():
    done = run_child("""
        import structlog
        from chassis.logs import configure_logging
        configure_logging("svc", "svc-1", batched=True)
        for number in range(3):
            structlog.get_logger("access").info("request", number=number)
    """)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["number"] for line in lines] == [0, 1, 2]
    assert {line["service"] for line in lines} == {"svc"} and {line["replica"] for line in lines} == {"svc-1"}


def test_library_lines_and_our_lines_are_written_in_one_json_dialect_exceptions_included():
    done = run_child("""
        import logging, structlog
        from chassis.logs import configure_logging
        configure_logging("svc", "svc-1")
        structlog.get_logger("ours").info("ours", number=1)
        logging.getLogger("library").warning("a library's %s", "line")
        try:
            1 / 0
        except ZeroDivisionError:
            logging.getLogger("library").exception("library failed")
            structlog.get_logger("ours").exception("we failed")
    """)
    raw = done.stdout.splitlines()
    lines = [json.loads(line) for line in raw]
    assert [line["event"] for line in lines] == ["ours", "a library's line", "library failed", "we failed"]
    assert all(", " not in line.split('"event"')[0] and '": ' not in line for line in raw)  # one renderer: compact
    for line in lines:
        assert line["service"] == "svc" and line["replica"] == "svc-1" and line["timestamp"].endswith("Z")
    assert [line["level"] for line in lines] == ["info", "warning", "error", "error"]
    for failed in lines[2:]:  # a traceback as text, never a repr of the exc_info tuple
        assert "ZeroDivisionError: division by zero" in failed["exception"] and "exc_info" not in failed


def test_a_gunicorn_worker_freezes_its_start_up_heap_and_collects_the_young_generation_less_often():
    done = run_child("""
        import gc, json
        import fastapi  # a worker has loaded its app before the hook runs
        from chassis import gunicorn_conf
        before = gc.get_freeze_count()
        gunicorn_conf.post_worker_init(worker=None)
        print(json.dumps({"before": before, "after": gc.get_freeze_count(), "threshold": gc.get_threshold(),
                          "default": gunicorn_conf.GC_GEN0_THRESHOLD}))
    """)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["before"] == 0 and figures["after"] > 10_000  # FastAPI's modules and objects
    assert figures["threshold"][0] == figures["default"] == 10_000


def _read(descriptor: int) -> bytes:
    try:
        return os.read(descriptor, 65536)
    except BlockingIOError:
        return b""
