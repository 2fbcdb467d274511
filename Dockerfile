# dspex-gql: configure with the same DSPEX_* environment variables as everywhere else (secrets
# may come from files: DSPEX_DATABASE_URL_FILE=/run/secrets/database-url, ...).
# Every package is installed from requirements.lock, pinned and checked against its hashes
# (scripts/lock writes it); the project's own wheel goes in on top without dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements-build.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements-build.lock
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 dspex \
 && mkdir /data && chown dspex /data
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock && rm /tmp/requirements.lock
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-deps /wheels/dspex_gql-*.whl && rm -rf /wheels
USER dspex
WORKDIR /data
ENV DSPEX_SERVER_HOST=0.0.0.0 \
    DSPEX_SERVER_PORT=8000 \
    DSPEX_DATABASE_URL=sqlite+aiosqlite:////data/dspex.db \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["dspex-gql", "serve"]
