# The image `flowrun export --target kubernetes` defaults to (flowrun:<version>):
#   docker build -t flowrun:0.1.0 .
# flowrun (the controller's `flowrun controller --spec ...`) on PATH, and every component
# runnable by its module name: python -m stellar_arrow_source | ttp_arrow_processor |
# arrow_analytics_sink. Runs as a non-root user (uid 10001, as the manifests require).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY runner ./runner
COPY components ./components
RUN pip install . && rm -rf /src

# The spec's folder as the components see it (FLOWRUN_SPEC_DIR): relative output folders
# land here, on the volumes the manifests mount.
RUN groupadd --gid 10001 flowrun \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin flowrun \
    && mkdir -p /var/lib/flowrun \
    && chown 10001:10001 /var/lib/flowrun
WORKDIR /var/lib/flowrun
USER 10001:10001

CMD ["flowrun", "--help"]
