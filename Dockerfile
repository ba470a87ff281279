# pixie-exporter container image (docs/deploy.md):
#   docker build -t pixie-exporter:0.1.0 .
# The build stage compiles TypeScript with the dev dependencies; the runtime
# stage holds the production dependencies, dist/ and scenarios/ only.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
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
