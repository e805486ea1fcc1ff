# One API (Python) appliance. The build runs the same steps as the README's set-up (./run.sh setup, then
# `oneapi build`) without the test extras, every package at its version in constraints.txt; CI runs these
# steps in a clean copy and starts the result (.ci/smoke.py), so the tested path is the shipped path.
#   docker build -t oneapi-py .
#   docker run -d -p 3000:3000 -v oneapi-data:/data --name oneapi oneapi-py
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN rm -rf .venv .tools .web data \
 && ONEAPI_EXTRAS=none ./run.sh setup \
 && .venv/bin/oneapi build --port 3000 \
 && rm -rf .web/node_modules .tools/bun-cache .tools/bun-tcache

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 1000 --home-dir /data oneapi \
 && mkdir -p /data && chown oneapi:oneapi /data
WORKDIR /app
COPY --from=build /app /app
ENV DATA_DIR=/data \
    PORT=3000 \
    PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1
USER oneapi
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/status' % os.environ.get('PORT','3000'), timeout=4)"
STOPSIGNAL SIGTERM
CMD ["oneapi", "serve"]
