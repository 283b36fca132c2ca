# krat-tracker production image: the package, its migrations, a non-root user.
# Every command below is also run by the test suite (tests/test_cli.py starts `krat db upgrade`
# and `krat serve` as real processes and probes them with the HEALTHCHECK command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    KRAT_DATABASE_URL=sqlite:////app/data/krat.db \
    KRAT_WORKERS=2

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install . \
    && useradd --create-home --uid 10001 krat \
    && mkdir -p /app/data \
    && chown krat:krat /app/data

USER krat
EXPOSE 8000
VOLUME ["/app/data"]

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

# Migrate (idempotent), then serve; with PostgreSQL set KRAT_DATABASE_URL to
# postgresql+psycopg://user:password@host:5432/krat and run as many containers as needed.
CMD ["sh", "-c", "krat db upgrade && exec krat serve --host 0.0.0.0 --port 8000 --workers \"$KRAT_WORKERS\""]
