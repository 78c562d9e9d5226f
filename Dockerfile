# One image for every Python component (services, gateway, Celery worker and beat, migrations).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, from the pinned lock: this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml ./
COPY src ./src
# The lab's control API starts Locust load shapes from these.
COPY loadtests ./loadtests
RUN pip install --no-deps .

RUN useradd --create-home --uid 10001 scaleshop
USER scaleshop
EXPOSE 8000
