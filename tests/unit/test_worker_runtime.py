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
