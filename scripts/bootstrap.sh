#!/usr/bin/env bash
# Install what a fresh Debian/Ubuntu machine lacks, idempotently and fast when nothing is missing:
# the Debian packages of the native runtime and the project's virtualenv (from the pinned lock).
set -euo pipefail
cd "$(dirname "$0")/.."

# patroni + etcd-server: products-db's automatic failover; pgbackrest: WAL archive and backups.
APT_PACKAGES=(nginx redis-server redis-tools prometheus prometheus-postgres-exporter
  prometheus-redis-exporter prometheus-nginx-exporter docker-compose wrk curl wget procps chromium
  patroni etcd-server etcd-client pgbackrest pgbouncer
  libnginx-mod-http-brotli-filter libnginx-mod-http-brotli-static libnginx-mod-http-cache-purge mkcert mtail)
NEEDED_COMMANDS=(nginx redis-server redis-cli prometheus prometheus-postgres-exporter
  prometheus-redis-exporter prometheus-nginx-exporter docker-compose wrk curl wget runuser chromium
  patroni patronictl etcd etcdctl pgbackrest pgbouncer mkcert mtail)
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
# The front-end build needs Node.js >= 20 (Vite 8); Debian's own nodejs is older, so a machine
# without node gets Debian's and the build says clearly if it is too old.
command -v npm >/dev/null || { APT_PACKAGES+=(nodejs npm); missing+=(npm); }
# kubectl renders k8s/ offline (`kubectl kustomize`, tests/static/test_k8s*.py). It is preinstalled
# on the project's machines; elsewhere Debian's kubernetes-client is the fallback (checked below).
command -v kubectl >/dev/null || { APT_PACKAGES+=(kubernetes-client); missing+=(kubectl); }
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
  # Packages may start their daemons where systemd runs; the stack runs its own instances.
  for daemon in nginx redis-server prometheus etcd patroni pgbouncer mtail; do service "$daemon" stop >/dev/null 2>&1 || true; done
fi
# k8s/ uses kustomize v4+ fields (labels, patches with targets): kubectl 1.21 or newer embeds it.
kubectl_minor=$(kubectl version --client -o json 2>/dev/null | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -1)
if [ -z "$kubectl_minor" ] || [ "$kubectl_minor" -lt 21 ]; then
  echo "bootstrap: kubectl ${kubectl_minor:+1.$kubectl_minor }is missing or too old to render k8s/ (needs 1.21+):" \
       "install a current kubectl (https://kubernetes.io/docs/tasks/tools/); the k8s tests will fail until then" >&2
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
# The browser front-end (web/): npm ci from the lock, then a Vite build into web/dist, which
# nginx serves. Rebuilt only when a source file, a card or the lock changed.
web_hash=$(find web -path web/node_modules -prune -o -path web/dist -prune -o -type f -print0 | sort -z \
  | xargs -0 sha256sum | sha256sum | cut -c1-16)
if [ ! -f "web/dist/.built-$web_hash" ]; then
  echo "bootstrap: building the storefront and control room (web/dist, npm ci + vite build)"
  lock_hash=$(sha256sum web/package-lock.json | cut -c1-16)
  if [ ! -f "web/node_modules/.installed-$lock_hash" ]; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
    touch "web/node_modules/.installed-$lock_hash"
  fi
  (cd web && npm run --silent build -- --logLevel warn)
  touch "web/dist/.built-$web_hash"
fi
echo "bootstrap: ready"
