# Production image: gunicorn for the web; the same image runs the Celery workers and beat.
FROM python:3.11-slim-bookworm
# STATICFILES_BACKEND and WHITENOISE_USE_FINDERS hold for collectstatic below and for the
# running container: hashed, compressed static files served by whitenoise from STATIC_ROOT.
# PYTHONPATH: the code in /app, not the copy pip installs, so templates/ and static/ are found.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app \
    SESCONSOLE_VAR_DIR=/var/lib/sesconsole \
    STATIC_ROOT=/app/staticfiles \
    STATICFILES_BACKEND=whitenoise.storage.CompressedManifestStaticFilesStorage \
    WHITENOISE_USE_FINDERS=false
WORKDIR /app
COPY pyproject.toml README.md ./
# Every local Django app (tests/test_deployment.py checks this list against INSTALLED_APPS).
COPY sesconsole sesconsole
COPY accounts accounts
COPY identities identities
COPY templates_app templates_app
COPY api api
COPY verification verification
COPY sending sending
COPY smtp smtp
COPY templates templates
COPY static static
COPY manage.py gunicorn.conf.py ./
RUN pip install --no-cache-dir . \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin sesconsole \
    && mkdir -p /var/lib/sesconsole && chown sesconsole /var/lib/sesconsole \
    && SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
USER sesconsole
EXPOSE 8000 2587 2465
# gunicorn.conf.py holds the web server's settings (workers, threads, the access log naming each
# request's X-Request-Id); gunicorn reads it from the working directory. bench/api.py runs it too.
CMD ["gunicorn", "sesconsole.wsgi", "--bind", "0.0.0.0:8000"]
