# accordlog API image. Configuration comes from the environment (DATABASE_URL and ACCORDLOG_*).
FROM python:3.11-slim
ENV UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv PATH=/app/.venv/bin:$PATH \
    ACCORDLOG_HOST=0.0.0.0 ACCORDLOG_PORT=8000 ACCORDLOG_DATA_DIR=/tmp/accordlog
WORKDIR /app
RUN pip install --no-cache-dir uv
COPY pyproject.toml uv.lock README.md ./
COPY events events
COPY projections projections
COPY migrations migrations
COPY service service
COPY alembic.ini ./
RUN uv sync --frozen --no-dev --python /usr/local/bin/python3
USER nobody
EXPOSE 8000
CMD ["accordlog", "serve"]
