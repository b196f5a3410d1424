# Images for compose.yaml. basic-memory needs Python >= 3.12; specmill runs on 3.11 or later.
FROM python:3.12-slim AS basic-memory
RUN pip install --no-cache-dir basic-memory==0.24.1
EXPOSE 8000

FROM python:3.11-slim AS specmill
RUN apt-get update && apt-get install -y --no-install-recommends git bubblewrap && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY workflows ./workflows
COPY migrations ./migrations
COPY dbos-config.yaml ./
RUN pip install --no-cache-dir ".[console]"
ENV SPECMILL_DATA_DIR=/data SPECMILL_PLAYBOOKS_DIR=/app/workflows
