# The Mailpulse image: every Mailpulse process of docker-compose.yml runs from it (web, worker,
# beat, migrate); docs/deploy.md says how to configure and run them.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Static files go into the image (WhiteNoise serves them with far-future caching). Settings
# need these values to load; nothing connects to them during collectstatic.
RUN SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build \
    REDIS_URL=redis://localhost:6379/0 python manage.py collectstatic --noinput -v 0
RUN useradd --system --uid 10001 mailpulse
USER mailpulse

EXPOSE 8000
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
