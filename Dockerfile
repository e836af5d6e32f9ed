# cpts-gateway: the FHIR gateway as a container (python:3.11-slim, unprivileged user).
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY adapters ./adapters
COPY mappings ./mappings
COPY security ./security
COPY conformance ./conformance
RUN pip install . && useradd --system --uid 10001 --home /app cpts && mkdir -p /app/var && chown cpts /app/var

USER cpts
EXPOSE 8080 2575
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz').status == 200 else 1)"
CMD ["cpts-gateway", "serve", "--host", "0.0.0.0", "--port", "8080"]
