# The portal's image: gunicorn for the web, the same image for the Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are collected at build time (hashed names, compressed, served by WhiteNoise).
RUN PCN_PORTAL_IGNORE_DOTENV=1 DEBUG=0 SECRET_KEY=collectstatic-only ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput \
 && useradd --create-home --uid 10001 portal \
 && mkdir -p /app/media /app/var/imports/incoming && chown -R portal /app/media /app/var

USER portal
EXPOSE 8000
CMD ["gunicorn", "pcn_portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
