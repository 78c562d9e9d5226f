"""`make autoscale SERVICE=products`: a HorizontalPodAutoscaler for the native runtime, to watch
(seeds: "Horizontal Pod Autoscaler (HPA)", "Autoscaling (Elasticity)").

It reads its HPA from the manifests (`kubectl kustomize k8s/overlays/dev`, the same min/max,
targets and behaviour a cluster would get), then every --interval seconds:
  1. measures each replica, as the cluster's metric pipeline would:
     - http_requests_per_second: the replica's own RED counter from Prometheus,
       rate(http_requests_total[RATE_WINDOW]) (prometheus-adapter serves the same counter);
     - CPU utilization: the CPU time of the replica's processes, as metrics-server reads the
       pod's cgroup, as a share of the Deployment's CPU request;
  2. runs the HPA algorithm (stackctl.hpa) and prints the decision;
  3. adds or removes replicas (stackctl.scale): new ones get an address at once and are
     registered with the gateways once their health check passes (checked every tick, like
     endpoints waiting for readiness); removed ones are drained first.
Every decision is also written as a JSON line (--log) for reports and tests.
On exit (Ctrl-C, --duration) the service is scaled back to compose's replicas.
"""

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import yaml

from stackctl import scale
from stackctl.hpa import Direction, HpaSpec, Recommender, desired_for_metric
from stackctl.plan import load_plan
from stackctl.settings import get_settings
from stackctl.supervisor import Supervisor

RATE_WINDOW = "20s"  # 4 scrapes at 5 s: responsive enough for a demo (the adapter's rule uses 1m)


def manifests(overlay: str) -> list[dict]:
    kubectl = shutil.which("kubectl")
    if not kubectl:
        raise SystemExit("kubectl is needed to read the HPA from k8s/ (scripts/bootstrap.sh installs it)")
    path = get_settings().project_dir / "k8s" / "overlays" / overlay
    rendered = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, check=True).stdout
    return [doc for doc in yaml.load_all(rendered, Loader=yaml.CSafeLoader) if doc]


def hpa_and_request(service: str, overlay: str) -> tuple[HpaSpec, float]:
    """The service's HPA and its pods' CPU request in cores, from the rendered overlay."""
    resources = manifests(overlay)
    hpa = next((r for r in resources if r["kind"] == "HorizontalPodAutoscaler" and r["metadata"]["name"] == service), None)
    if hpa is None:
        raise SystemExit(f"k8s/overlays/{overlay} has no HorizontalPodAutoscaler named {service}")
    deployment = next(r for r in resources if r["kind"] == "Deployment" and r["metadata"]["name"] == service)
    cpu = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    cores = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
    return HpaSpec.from_manifest(hpa), cores


class Meter:
    """Per-replica rps (Prometheus) and CPU utilization (process CPU time) of one service."""

    def __init__(self, service: str, cpu_request_cores: float):
        self.service = service
        self.cpu_request = cpu_request_cores
        self.cpu_seen: dict[str, tuple[float, float]] = {}  # replica -> (monotonic time, CPU seconds)
        self.supervisor = Supervisor(get_settings())

    def rps(self, plan, replicas: list[str]) -> list[float | None]:
        query = f'sum by (replica) (rate(http_requests_total{{service="{self.service}"}}[{RATE_WINDOW}]))'
        url = f"http://{plan['prometheus'].address}:9090/api/v1/query"
        try:
            result = httpx.get(url, params={"query": query}, timeout=5).json()["data"]["result"]
        except (httpx.HTTPError, KeyError, ValueError):
            return [None] * len(replicas)  # no metrics: the HPA keeps the current count
        by_replica = {sample["metric"].get("replica"): float(sample["value"][1]) for sample in result}
        return [by_replica.get(name) for name in replicas]

    def cpu_utilization(self, replicas: list[str]) -> list[float | None]:
        values = []
        for name in replicas:
            now, seconds = time.monotonic(), self._cpu_seconds(name)
            before = self.cpu_seen.get(name)
            self.cpu_seen[name] = (now, seconds) if seconds is not None else self.cpu_seen.get(name)
            if before is None or seconds is None or now <= before[0]:
                values.append(None)
            else:
                cores = max(0.0, seconds - before[1]) / (now - before[0])
                values.append(100 * cores / self.cpu_request)
        return values

    def _cpu_seconds(self, name: str) -> float | None:
        try:
            process = psutil.Process(self.supervisor.info(name)["pid"])
            processes = [process, *process.children(recursive=True)]
            return sum(sum(p.cpu_times()[:2]) for p in processes)
        except (psutil.Error, Exception):
            return None


def shown(values: list[float | None]) -> str:
    return "[" + " ".join("-" if v is None else f"{v:.0f}" for v in values) + "]"


def run(service: str, overlay: str, interval: float, scale_down_window: int | None, target_rps: float | None,
        duration: float | None, log_path: Path | None) -> None:
    spec, cpu_request = hpa_and_request(service, overlay)
    if scale_down_window is not None or target_rps is not None:
        down = spec.scale_down
        if scale_down_window is not None:
            down = Direction(scale_down_window, down.policies, down.select)
        spec = HpaSpec(spec.min_replicas, spec.max_replicas, spec.cpu_utilization,
                       target_rps if target_rps is not None else spec.rps_per_pod, spec.scale_up, down)
    meter, recommender, compose = Meter(service, cpu_request), Recommender(spec), scale.compose_services()
    pending: set[str] = set()  # started, not healthy yet: counted as replicas, not given traffic
    log = log_path.open("a") if log_path else None
    scale.publish(load_plan(), service)
    print(f"autoscaling {service} from k8s/overlays/{overlay}: {spec.min_replicas}..{spec.max_replicas} replicas, "
          f"targets {spec.rps_per_pod:g} rps/pod and {spec.cpu_utilization}% of {cpu_request * 1000:.0f}m CPU, "
          f"scale-down window {spec.scale_down.stabilization_seconds}s, every {interval:g}s", flush=True)
    started = time.monotonic()
    try:
        while duration is None or time.monotonic() - started < duration:
            tick = time.monotonic()
            if pending and (ready := scale.register_ready(service, pending)):
                pending -= set(ready)
                print(f"{time.strftime('%H:%M:%S')} {service}: ready and registered: {', '.join(ready)}", flush=True)
            plan = load_plan()
            replicas = scale.replicas_of(plan, service)
            current = len(replicas)
            rps, cpu = meter.rps(plan, replicas), meter.cpu_utilization(replicas)
            by_rps = desired_for_metric(current, rps, spec.rps_per_pod) if spec.rps_per_pod else current
            by_cpu = desired_for_metric(current, cpu, spec.cpu_utilization) if spec.cpu_utilization else current
            raw = max(by_rps, by_cpu)
            decided = recommender.decide(time.time(), current, raw)
            action = "hold" if decided == current else ("scale up" if decided > current else "scale down")
            print(f"{time.strftime('%H:%M:%S')} {service}: {current} replicas  rps/pod {shown(rps)} -> {by_rps}  "
                  f"cpu% {shown(cpu)} -> {by_cpu}  recommended {raw}  decided {decided}  {action}", flush=True)
            changed = []
            if decided > current:
                changed = scale.start_replicas(service, decided - current, compose)
                pending |= set(changed)
            elif decided < current:
                changed = scale.remove_replicas(service, current - decided, compose, pending)
                pending -= set(changed)
            recommender.record(time.time(), len(changed) if decided > current else -len(changed))
            if changed:
                print(f"{time.strftime('%H:%M:%S')} {service}: {action} done: {', '.join(changed)} "
                      f"({time.monotonic() - tick:.1f}s)", flush=True)
            if log:
                log.write(json.dumps({"time": time.time(), "replicas": current, "rps": rps, "cpu": cpu,
                                      "by_rps": by_rps, "by_cpu": by_cpu, "recommended": raw, "decided": decided,
                                      "changed": changed, "pending": sorted(pending),
                                      "ready": len(scale.replicas_of(load_plan(), service)) - len(pending)}) + "\n")
                log.flush()
            time.sleep(max(0.0, interval - (time.monotonic() - tick)))
    except KeyboardInterrupt:
        pass
    finally:
        print(f"stopping: {service} back to compose's replicas", flush=True)
        scale.reset(service, compose)


def stop_on_sigterm(signum, frame) -> None:
    """SIGTERM ends the loop like Ctrl-C does, so the service is still scaled back."""
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(prog="stackctl.autoscale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service")
    parser.add_argument("--overlay", default="dev", help="k8s/overlays/<name> whose HPA to run (default dev)")
    parser.add_argument("--interval", type=float, default=5.0,
                        help="seconds between decisions (a cluster's HPA: 15 s)")
    parser.add_argument("--scale-down-window", type=int, help="override the HPA's stabilization window (seconds)")
    parser.add_argument("--target-rps", type=float,
                        help="override the HPA's requests/s per pod (a busy shared machine may not reach the manifest's)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--log", type=Path, help="append every decision as a JSON line here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    run(args.service, args.overlay, args.interval, args.scale_down_window, args.target_rps, args.duration, args.log)


if __name__ == "__main__":
    sys.exit(main())
