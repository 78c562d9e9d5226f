"""Render the kustomize overlays offline (`kubectl kustomize`), for the k8s static tests and the
native autoscaler's tests: one rendering per overlay and session."""

import shutil
import subprocess
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
OVERLAYS = ("base", "overlays/dev", "overlays/prod")


@cache
def render(overlay: str) -> tuple[dict, ...]:
    """Every resource of `overlay` (a path under k8s/), as kubectl kustomize renders it."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: scripts/bootstrap.sh installs it (Debian: kubernetes-client)"
    result = subprocess.run([kubectl, "kustomize", str(K8S / overlay)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"kubectl kustomize k8s/{overlay} failed:\n{result.stderr}"
    # libyaml's C loader: the pure-Python one took 1.3 s of the 1.6 s an overlay costs.
    return tuple(doc for doc in yaml.load_all(result.stdout, Loader=yaml.CSafeLoader) if doc)


def find(resources, kind: str, name: str) -> dict | None:
    return next((r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name), None)


def of_kind(resources, kind: str) -> list[dict]:
    return [r for r in resources if r["kind"] == kind]
