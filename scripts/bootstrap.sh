#!/usr/bin/env bash
# Install what a fresh Debian/Ubuntu machine lacks, idempotently and fast when nothing is missing:
# the Debian packages of the native runtime and the project's virtualenv (from the pinned lock).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(nginx redis-server redis-tools prometheus prometheus-postgres-exporter
  prometheus-redis-exporter prometheus-nginx-exporter docker-compose wrk curl wget procps
  libnginx-mod-http-brotli-filter libnginx-mod-http-brotli-static libnginx-mod-http-cache-purge mkcert mtail)
NEEDED_COMMANDS=(nginx redis-server redis-cli prometheus prometheus-postgres-exporter
  prometheus-redis-exporter prometheus-nginx-exporter docker-compose wrk curl wget runuser mkcert mtail)
# nginx modules the edge loads (infra/nginx/nginx.conf: load_module).
NGINX_MODULES=(ngx_http_brotli_filter_module ngx_http_brotli_static_module ngx_http_cache_purge_module)
PG_BIN=/usr/lib/postgresql/15/bin

missing=()
for command in "${NEEDED_COMMANDS[@]}"; do command -v "$command" >/dev/null || missing+=("$command"); done
for module in "${NGINX_MODULES[@]}"; do
  [ -f "/usr/lib/nginx/modules/$module.so" ] || missing+=("$module")
done
[ -x "$PG_BIN/postgres" ] || APT_PACKAGES+=(postgresql-15 postgresql-client-15) missing+=(postgres)
command -v psql >/dev/null || { APT_PACKAGES+=(postgresql-client-15); missing+=(psql); }
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
  # Packages may start their daemons where systemd runs; the stack runs its own instances.
  for daemon in nginx redis-server prometheus mtail; do service "$daemon" stop >/dev/null 2>&1 || true; done
fi
id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql --shell /bin/bash postgres

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
stamp=.venv/.installed-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: creating the Python environment in .venv (pinned by requirements.lock)"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.lock
  .venv/bin/pip install -q --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi
echo "bootstrap: ready"
