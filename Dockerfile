# syntax=docker/dockerfile:1
# One image for every Python component (services, gateway, Celery worker and beat, migrations),
# on the same Debian base as the infrastructure images (infra/docker/Dockerfile), so Docker and
# the native runtime run the same Python 3.11 from the same distribution.
FROM debian:bookworm-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LANG=C.UTF-8 PATH=/opt/venv/bin:$PATH PYTHONPATH=/app/src

# Layer 1, rebuilt only when the base changes: the interpreter, and tini as PID 1 (it forwards
# signals and reaps zombies, and lets `make kill` crash the server while the container restarts).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/venv

# Layer 2, rebuilt only when the dependencies change: the runtime dependencies of pyproject.toml
# at the versions pinned by requirements.lock, and Locust (the lab's control API runs load shapes);
# the lock's test and tool pins are not installed.
# A machine whose TLS is intercepted passes its CA bundle as the build secret `pip_ca`
# (scripts/docker-images.py does); without the secret pip uses the public CAs.
WORKDIR /app
COPY pyproject.toml requirements.lock ./
RUN --mount=type=secret,id=pip_ca \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi \
 && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'] + ['locust']))" \
      > /tmp/runtime-requirements.txt \
 && pip install -r /tmp/runtime-requirements.txt -c requirements.lock \
 && rm /tmp/runtime-requirements.txt

# Layer 3, rebuilt on every code change: the source only (imported through PYTHONPATH).
COPY src ./src
# The lab's control API starts Locust load shapes from these.
COPY loadtests ./loadtests

RUN useradd --create-home --uid 10001 scaleshop
USER scaleshop
EXPOSE 8000
# Every compose service gives its own command (gunicorn, celery, a migration).
ENTRYPOINT ["tini", "--"]
