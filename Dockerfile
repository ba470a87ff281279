# pixie-exporter container image (docs/deploy.md):
#   docker build -t pixie-exporter:0.1.0 \
#     --build-arg REVISION="$(git rev-parse HEAD)" --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .
# The build stage compiles TypeScript with the dev dependencies; the runtime
# stage holds the production dependencies, dist/, scenarios/ and schemas/ only.
# Node.js 22 (LTS), the same line as package.json "engines" and .ci/run.
#
# No HEALTHCHECK: Kubernetes ignores it (the Deployment's liveness and
# readiness probes call /-/healthy and /-/ready). With plain `docker run`, add
#   --health-cmd 'node -e "fetch(\"http://127.0.0.1:10049/-/healthy\").then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"'
# (docs/deploy.md, "Health checks").

FROM node:22-bookworm-slim AS build
ARG REVISION=unknown
ARG BRANCH=unknown
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN PIXIE_BUILD_REVISION="$REVISION" PIXIE_BUILD_BRANCH="$BRANCH" PIXIE_BUILD_USER=docker npm run build

FROM node:22-bookworm-slim AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="pixie-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Pixie eBPF HTTP metrics, built for Argo Rollouts canary analysis and Grafana" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.created="$CREATED" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="https://github.com/pixie-io/pixie-exporter/blob/main/docs/deploy.md" \
      org.opencontainers.image.source="https://github.com/pixie-io/pixie-exporter" \
      org.opencontainers.image.base.name="docker.io/library/node:22-bookworm-slim"
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# A numeric user the manifests also name (runAsUser/runAsGroup 10001), so
# Kubernetes can check runAsNonRoot without reading /etc/passwd.
RUN groupadd --gid 10001 pixie-exporter \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pixie-exporter
COPY --from=build /src/dist ./dist
COPY scenarios ./scenarios
COPY schemas ./schemas
USER 10001:10001
EXPOSE 10049
ENTRYPOINT ["node", "dist/cli.js"]
