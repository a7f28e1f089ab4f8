# Production image: gunicorn for the web, the same image runs Celery worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SESCONSOLE_VAR_DIR=/var/lib/sesconsole \
    STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sesconsole sesconsole
COPY accounts accounts
COPY identities identities
COPY templates_app templates_app
COPY api api
COPY verification verification
COPY templates templates
COPY static static
COPY manage.py ./
RUN pip install --no-cache-dir . && useradd --system --home /app sesconsole \
    && mkdir -p /var/lib/sesconsole && chown sesconsole /var/lib/sesconsole \
    && STATICFILES_BACKEND=whitenoise.storage.CompressedManifestStaticFilesStorage \
       SECRET_KEY=build-only python manage.py collectstatic --noinput
USER sesconsole
EXPOSE 8000
CMD ["gunicorn", "sesconsole.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
