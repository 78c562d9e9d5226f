#!/usr/bin/env bash
# `make test-docker`: prove the Docker path. Build every image of docker-compose.yml from this
# repository, bring the whole topology up under a container engine through the Docker API, wait
# for every health check, run the black-box e2e subset (tests/docker) through nginx, and tear
# everything down, also after a failure. Writes reports/docker/test-docker-<time>.md.
#
# Engine: a real Docker engine when one answers (used as it is, never reconfigured); else podman
# as measured on Debian 12 without systemd (infra/podman/containers.conf through CONTAINERS_CONF,
# its Docker API on a private socket, scripts/podman_healthchecks.py as the health-check timer,
# debian:bookworm-slim made with debootstrap when no registry can provide it).
# Nothing is published on the host but nginx, on 127.0.0.1:$DOCKER_TEST_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE_DIR=${DOCKER_TEST_STATE_DIR:-$PWD/.stack-docker}
export DOCKER_TEST_STATE_DIR=$STATE_DIR
PROJECT=${DOCKER_TEST_PROJECT:-scaleshop-dockertest}
PORT=${DOCKER_TEST_PORT:-18480}
BASE_IMAGE=docker.io/library/debian:bookworm-slim
mkdir -p "$STATE_DIR/logs" reports/docker
stamp=$(date -u +%Y%m%d-%H%M%S)
report=reports/docker/test-docker-$stamp.md
t0=$(date +%s)
seconds_since() { echo $(( $(date +%s) - $1 )); }
log() { echo "test-docker [$(seconds_since "$t0") s]: $*"; }

if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
# compose 1.29 gives each API call 60 s by default; a loaded machine's engine took longer.
export COMPOSE_HTTP_TIMEOUT=${COMPOSE_HTTP_TIMEOUT:-600}

# ------------------------------------------------------------------ the engine
service_pid="" timers_pid=""
if [ -z "${DOCKER_HOST:-}" ] && docker info >/dev/null 2>&1; then
  ENGINE=docker
  log "a Docker engine answers: using it as it is"
else
  ENGINE=podman
  # netavark sets up the bridge and port forwarding with iptables: without it no network is created.
  needed=(podman runc netavark aardvark-dns iptables debootstrap docker-compose)
  missing=()
  for package in "${needed[@]}"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  export CONTAINERS_CONF=$PWD/infra/podman/containers.conf
  if [ -n "${DOCKER_TEST_STORAGE_DIR:-}" ]; then
    # Images and containers in a storage of their own (a from-scratch run beside the usual one).
    printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/root"\nrunroot = "%s/run"\n' \
      "$DOCKER_TEST_STORAGE_DIR" "$DOCKER_TEST_STORAGE_DIR" >"$STATE_DIR/storage.conf"
    export CONTAINERS_STORAGE_CONF=$STATE_DIR/storage.conf
  fi
  socket=$STATE_DIR/podman.sock
  rm -f "$socket"
  podman system service --time=0 "unix://$socket" >"$STATE_DIR/logs/podman-service.log" 2>&1 &
  service_pid=$!
  export DOCKER_HOST=unix://$socket
  for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.2; done
  .venv/bin/python scripts/podman_healthchecks.py >"$STATE_DIR/logs/healthchecks.log" 2>&1 &
  timers_pid=$!
  log "podman $(podman version --format '{{.Client.Version}}') serves the Docker API on $DOCKER_HOST"
fi
compose() { "${COMPOSE[@]}" -p "$PROJECT" -f "$STATE_DIR/compose.yml" "$@"; }

cleanup() {
  rc=$?
  if [ -f "$STATE_DIR/compose.yml" ]; then
    [ $rc -eq 0 ] || compose logs --no-color --tail=200 >"$STATE_DIR/logs/compose-$stamp.log" 2>&1 || true
    [ $rc -eq 0 ] || compose ps >>"$STATE_DIR/logs/compose-$stamp.log" 2>&1 || true
    compose down -v --remove-orphans -t 5 >/dev/null 2>&1 || true
  fi
  if [ "${ENGINE:-}" = podman ]; then  # whatever an interrupted `down` left behind
    podman ps -a -q --filter "label=com.docker.compose.project=$PROJECT" | xargs -r podman rm -f >/dev/null 2>&1 || true
    podman volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
    podman network rm -f "${PROJECT}_default" >/dev/null 2>&1 || true
  fi
  [ -z "$timers_pid" ] || kill "$timers_pid" 2>/dev/null || true
  [ -z "$service_pid" ] || kill "$service_pid" 2>/dev/null || true
  [ $rc -eq 0 ] || echo "test-docker: FAILED (rc $rc); container logs: $STATE_DIR/logs/compose-$stamp.log"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ the base image, when missing
base_s=0
if [ "$ENGINE" = podman ] && ! podman image exists "$BASE_IMAGE"; then
  t=$(date +%s)
  log "no $BASE_IMAGE and no registry: making it with debootstrap"
  rootfs=$STATE_DIR/rootfs
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$STATE_DIR/logs/debootstrap.log"
  printf '%s\n' "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" >"$rootfs/etc/apt/sources.list"
  # What makes the public image "slim": apt keeps no package caches, dpkg installs no docs.
  printf '%s\n' 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
    'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";' >"$rootfs/etc/apt/apt.conf.d/docker-clean"
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/locale/*' >"$rootfs/etc/dpkg/dpkg.cfg.d/docker"
  rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/var/cache/apt/*.bin
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  base_s=$(seconds_since "$t")
fi

# ------------------------------------------------------------------ every image, from the repository
t=$(date +%s)
.venv/bin/python scripts/docker-images.py --engine "$ENGINE" --report "reports/docker/images-$stamp.md"
build_s=$(seconds_since "$t")
log "base image ${base_s} s, every image ${build_s} s"
if [ "${DOCKER_TEST_ONLY:-}" = images ]; then exit 0; fi  # the engine, the base and the images only

# ------------------------------------------------------------------ the topology, published on loopback only
# docker-compose.yml as is, except (1) host ports: none but nginx on 127.0.0.1:$PORT (a shared
# machine: 8080/9090 may be someone else's); (2) slack in the health checks, not other checks:
# on a shared 2-core machine at load ~100 a `podman exec` alone took 18 s (a 5 s timeout failed
# checks whose command answered at once) and an app replica took 3.5 min to import, and compose
# 1.29 gives up on `up` as soon as a dependency is unhealthy. Failures in the start period do
# not count; a check that passes ends it.
HEALTH_TIMEOUT=${DOCKER_TEST_HEALTH_TIMEOUT:-60s}
HEALTH_START_PERIOD=${DOCKER_TEST_HEALTH_START_PERIOD:-600s}
docker-compose -f docker-compose.yml config | .venv/bin/python -c '
import sys, yaml
model = yaml.safe_load(sys.stdin)
for service in model["services"].values():
    service.pop("ports", None)
    if "healthcheck" in service:
        service["healthcheck"]["timeout"] = "'"$HEALTH_TIMEOUT"'"
        service["healthcheck"]["start_period"] = "'"$HEALTH_START_PERIOD"'"
model["services"]["nginx"]["ports"] = ["127.0.0.1:'"$PORT"':8080"]
yaml.safe_dump(model, sys.stdout, sort_keys=False)' >"$STATE_DIR/compose.yml"
compose down -v --remove-orphans -t 5 >/dev/null 2>&1 || true  # leftovers of an interrupted run
t=$(date +%s)
log "starting the topology (project $PROJECT)"
compose up -d --no-build
up_s=$(seconds_since "$t")

# ------------------------------------------------------------------ black-box e2e through nginx
t=$(date +%s)
DOCKER_TEST_URL=http://127.0.0.1:$PORT DOCKER_TEST_PROJECT=$PROJECT \
  .venv/bin/pytest tests/docker -p no:cacheprovider -q
e2e_s=$(seconds_since "$t")

total_s=$(seconds_since "$t0")
{
  echo "# make test-docker, $stamp"
  echo
  echo "engine: $ENGINE ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')), compose: ${COMPOSE[*]}"
  echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end (shared machine)"
  echo
  echo "| step | seconds |"
  echo "|---|---:|"
  echo "| base image (debootstrap + import; 0 = present) | $base_s |"
  echo "| build every image | $build_s |"
  echo "| compose up (dependencies healthy in order) | $up_s |"
  echo "| e2e subset (waits for every health check first) | $e2e_s |"
  echo "| total | $total_s |"
  echo
  cat "reports/docker/images-$stamp.md"
  [ ! -f "$STATE_DIR/e2e-figures.md" ] || cat "$STATE_DIR/e2e-figures.md"
} >"$report"
log "passed in ${total_s} s; report: $report"
