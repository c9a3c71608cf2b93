# One image for every llmplanner service (web, worker, migrate).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Pango and fonts for the PDF exports (WeasyPrint): Noto CJK for Chinese, DejaVu for the rest.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v 0 \
    && useradd --create-home --uid 1000 app \
    && mkdir -p /app/var/media && chown -R app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "llmplanner.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
