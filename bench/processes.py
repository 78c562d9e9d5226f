"""Extra processes a scenario starts beside the stack, on spare loopback addresses, and stops after.

- a gunicorn app (the hello baseline, or a second products/gateway process with one
  setting changed and otherwise the environment of products-1/gateway-1 from the plan);
- a bench-only nginx in front of the stack's gateways, with upstream keepalive on or off.
Each is a context manager: started, waited on until it answers, terminated (SIGTERM,
then SIGKILL), its log kept in the report directory.
"""

import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
NGINX_TEMPLATE = Path(__file__).with_name("nginx-bench.conf.template")


def wait_until_answers(url: str, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited ({process.returncode}); see {log}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s; see {log}")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def gunicorn_app(name: str, app: str, address: str, workdir: Path, env: dict[str, str], ready_path: str):
    """gunicorn with the chassis settings serving `app` on address:8000; yields its base URL."""
    home = workdir / name
    shutil.rmtree(home, ignore_errors=True)
    (home / "prometheus").mkdir(parents=True)
    full_env = {
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home), "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1",
        "WEB_CONCURRENCY": "1",
        **env,
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT / 'bench'}",
        "PROMETHEUS_MULTIPROC_DIR": str(home / "prometheus"),
        "REPLICA_NAME": name,
    }
    log = workdir / f"{name}.log"
    argv = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "python:chassis.gunicorn_conf",
            "--bind", f"{address}:8000", app]
    with log.open("w") as output:
        process = subprocess.Popen(argv, env=full_env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://{address}:8000"
    try:
        wait_until_answers(base + ready_path, process, log)
        yield base
    finally:
        stop(process)


@contextmanager
def bench_nginx(name: str, address: str, gateways: list[str], *, keepalive: bool, workdir: Path):
    """nginx on address:8080 proxying /api/ to the gateways; yields its base URL."""
    prefix = workdir / name
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.mkdir(parents=True)
    prefix.chmod(0o777)  # nginx workers run as nobody when started by root
    servers = "\n".join(f"        server {gateway} max_fails=1 fail_timeout=5s;" for gateway in gateways)
    conf = NGINX_TEMPLATE.read_text().format(
        prefix=prefix, servers=servers, listen=f"{address}:8080",
        keepalive="        keepalive 64;\n        keepalive_timeout 60s;" if keepalive else "        # no keepalive",
    )
    (prefix / "nginx.conf").write_text(conf)
    log = prefix / "error.log"
    argv = ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(log), "-g", "daemon off;"]
    process = subprocess.Popen(argv, cwd=prefix, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://{address}:8080"
    try:
        wait_until_answers(base + "/api/products/whoami", process, log)
        yield base
    finally:
        stop(process, signal.SIGQUIT)
