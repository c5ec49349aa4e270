# Liaison bot: slim Python, non-root, database in a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_PATH=/data/liaison.sqlite3 \
    TIMEZONE=Asia/Shanghai

WORKDIR /app
# A CJK font for the charts of /stats and the digest (without it they are text only).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
# Dependencies first (pinned by constraints.txt) so code changes reuse the layer.
COPY pyproject.toml setup.py MANIFEST.in constraints.txt README.md ./
COPY bot ./bot
COPY locales ./locales
RUN pip install -c constraints.txt . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin liaison \
    && mkdir -p /data && chown liaison /data

USER liaison
VOLUME ["/data"]

# Healthy while the scheduler ticks (every 20 s it rewrites /data/heartbeat).
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os,sys,time; sys.exit(0 if time.time() - os.path.getmtime('/data/heartbeat') < 180 else 1)"]

# SIGTERM (docker stop) finishes the update in hand, flushes and exits 0.
STOPSIGNAL SIGTERM
CMD ["liaison-bot", "run"]
