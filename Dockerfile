# Image for the application services of docker-compose.yml (Django, relay, streams, workers).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY deploy deploy
COPY producer_django producer_django
COPY streams streams
COPY consumers consumers
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1
