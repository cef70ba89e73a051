# syntax=docker/dockerfile:1
# The WacoFlow image: one command, `wacoflow`, whose first argument picks the process:
#
#   docker build -t wacoflow:0.1.0 .
#   docker run --rm wacoflow:0.1.0 central --config /etc/wacoflow/central.yaml
#   docker run --rm wacoflow:0.1.0 gateway --config /etc/wacoflow/gateway.yaml
#
# The build stage installs the runtime dependencies from the lockfile (npm ci --omit=dev) beside the sources
# the CLI runs; .dockerignore lets nothing else into the context (no tests, fixtures, docs, benchmarks).
# The runtime stage is distroless: Node and glibc (serialport's prebuilt binding needs it), no shell, no npm,
# running as uid 65532. TypeScript runs through tsx, as from the source tree; its compile cache goes to /tmp,
# which a read-only root filesystem must mount writable (deploy/kubernetes does, with an emptyDir).
# deploy/image.test.ts runs this file's build steps in a clean directory and starts the CLI from the result.

ARG NODE_VERSION=24
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
COPY . .
RUN node bin/wacoflow.js --version

ARG NODE_VERSION=24
FROM gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="wacoflow" \
      org.opencontainers.image.description="Real-time traffic-detector platform: the MQTT gateway, the central stream processor and the edge agent, as 'wacoflow gateway|central|agent'" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="docs/deploy.md"
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production
USER 65532:65532
# 1883 MQTT (inside the cluster), 8883 MQTT over TLS, 9464 the gateway's /metrics and probes, 8080 central's API.
EXPOSE 1883 8883 8080 9464
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/wacoflow.js"]
CMD ["--help"]
