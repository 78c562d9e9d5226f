"""Build every image docker-compose.yml names, from this repository's Dockerfiles, and report sizes.

The list comes from `docker-compose config` (the canonical topology): each distinct `image:` of a
service with a `build:` section is built once, with its Dockerfile and target. Services that share
an image (the ten app replicas, the six Postgres) share one build.

    python scripts/docker-images.py [--engine podman|docker] [--report reports/docker/images.md]

pip inside a build may need the CA bundle of a machine whose TLS is intercepted: the file pip is
configured with (`pip config list`: PIP_CERT / global.cert) is handed to the build as the secret
`pip_ca`; it never becomes part of an image. Without one, pip trusts the public CAs.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose_model(compose_file: Path) -> dict:
    output = subprocess.run(["docker-compose", "-f", str(compose_file), "config"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    return yaml.safe_load(output)


def builds_of(model: dict) -> dict[str, dict]:
    """image -> its build section; two services giving one image two different builds is an error."""
    builds: dict[str, dict] = {}
    for name, service in sorted(model["services"].items()):
        if "build" not in service:
            continue
        image = service.get("image") or sys.exit(f"{name}: a service with build: needs an image: name")
        build = service["build"] if isinstance(service["build"], dict) else {"context": service["build"]}
        if image in builds and builds[image] != build:
            sys.exit(f"{name}: image {image} is built two different ways")
        builds[image] = build
    return builds


def pip_ca_bundle() -> str | None:
    """The CA bundle pip is configured with on this machine, if any."""
    if os.environ.get("PIP_CERT"):
        return os.environ["PIP_CERT"]
    result = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.cert"],
                            capture_output=True, text=True)
    return result.stdout.strip() or None


def build_command(engine: str, image: str, build: dict, ca_bundle: str | None) -> list[str]:
    context = Path(build.get("context", "."))
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    argv = [engine, "build", "-f", str(dockerfile), "-t", image]
    if engine == "podman":
        # Build steps use the host's network, as BuildKit does: podman's bridge has no route to
        # this machine's DNS server, and a build needs only apt's and pip's servers.
        argv.append("--network=host")
    if build.get("target"):
        argv += ["--target", build["target"]]
    for key, value in (build.get("args") or {}).items():
        argv += ["--build-arg", f"{key}={value}"]
    if ca_bundle:
        argv += ["--secret", f"id=pip_ca,src={ca_bundle}"]
    return [*argv, str(context)]


def image_size(engine: str, image: str) -> int:
    output = subprocess.run([engine, "image", "inspect", "--format", "{{.Size}}", image],
                            check=True, capture_output=True, text=True).stdout
    return int(output.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default=os.environ.get("CONTAINER_ENGINE", "docker"))
    parser.add_argument("--compose-file", type=Path, default=ROOT / "docker-compose.yml")
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args()

    env = {**os.environ, "DOCKER_BUILDKIT": "1"}  # RUN --mount needs BuildKit under real Docker
    ca_bundle = pip_ca_bundle()
    rows = []
    started = time.monotonic()
    for image, build in builds_of(compose_model(args.compose_file)).items():
        print(f"docker-images: building {image}", flush=True)
        began = time.monotonic()
        subprocess.run(build_command(args.engine, image, build, ca_bundle), cwd=ROOT, env=env, check=True)
        rows.append((image, build.get("target", "-"), time.monotonic() - began, image_size(args.engine, image)))
    total = time.monotonic() - started

    lines = ["| image | target | build s | size MB |", "|---|---|---:|---:|"]
    lines += [f"| {image} | {target} | {seconds:.0f} | {size / 1e6:.0f} |" for image, target, seconds, size in rows]
    lines.append(f"\n{len(rows)} images built in {total:.0f} s with {args.engine}.")
    table = "\n".join(lines)
    print(table)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(table + "\n")


if __name__ == "__main__":
    main()
