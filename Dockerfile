# dspex-gql: configure with the same DSPEX_* environment variables as everywhere else.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[dspy,procrastinate]'

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 dspex \
 && mkdir /data && chown dspex /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels 'dspex-gql[dspy,procrastinate]' && rm -rf /wheels
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
