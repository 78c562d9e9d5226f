#!/bin/sh
# First start of the edge (a one-shot before nginx, in both runtimes):
#  1. a development CA and a certificate for the edge's names (mkcert), kept in the edge-tls volume:
#     the CA is made once; the certificate again whenever the names it must cover change;
#  2. the active load-balancing algorithm, if none was chosen yet (`make lb ALGO=...` changes it).
set -eu

TLS_DIR=/etc/nginx/tls
RUNTIME_DIR=/etc/nginx/runtime
export CAROOT="$TLS_DIR/ca"
mkdir -p "$CAROOT" "$RUNTIME_DIR"

# localhost for the browser and curl; EDGE_PUBLIC_HOST is where this runtime serves the edge
# (the compose name "nginx" under Docker, its loopback address natively).
names="localhost 127.0.0.1 ::1 ${EDGE_PUBLIC_HOST:-nginx}"
if [ ! -f "$CAROOT/rootCA.pem" ]; then
  echo "edge-init: creating the development CA in $CAROOT (never trust it outside this machine)"
fi
if [ ! -f "$TLS_DIR/edge.pem" ] || [ "$(cat "$TLS_DIR/edge.names" 2>/dev/null)" != "$names" ]; then
  # mkcert creates the CA on its first run; -ecdsa: a P-256 key, smaller and faster handshakes than RSA.
  # shellcheck disable=SC2086  # the names are separate arguments
  mkcert -ecdsa -cert-file "$TLS_DIR/edge.pem" -key-file "$TLS_DIR/edge-key.pem" $names
  echo "$names" > "$TLS_DIR/edge.names"
fi
chmod 600 "$CAROOT/rootCA-key.pem"
# nginx reads the key as root natively, as www-data in its image (infra/docker/Dockerfile).
chmod 640 "$TLS_DIR/edge-key.pem"
chgrp www-data "$TLS_DIR/edge-key.pem" 2>/dev/null || true

if [ ! -f "$RUNTIME_DIR/lb.conf" ]; then
  algorithm=$(echo "${EDGE_LB_ALGORITHM:-least-conn}" | tr '-' '_')
  echo "default gateways_$algorithm;" > "$RUNTIME_DIR/lb.conf"
fi
# `make lb` under Docker writes the choice as nginx's user.
chown -R www-data "$RUNTIME_DIR" 2>/dev/null || true
echo "edge-init: certificate for [$names], load balancing: $(cat "$RUNTIME_DIR/lb.conf")"
