# syntax=docker/dockerfile:1
# The operator image: the same Node LTS the tests pin (package.json devDependency
# "node"), compiled TypeScript, production dependencies only, a non-root user.
# `--ignore-scripts`: the image has Node already, so the pinned-Node download of the
# npm "node" package is skipped; no runtime dependency has an install script.

FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:24.21.0-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# Matches the Deployment's runAsUser; the root file system is mounted read-only there.
USER 65532:65532
EXPOSE 8080
# V8 grows each young-generation semi-space to 64 MB under load, most of it empty;
# 16 MB cost no CPU in the benchmark and about 100 MB less RSS (docs/BENCHMARKS.md).
ENTRYPOINT ["node", "--enable-source-maps", "--max-semi-space-size=16", "dist/main.js"]
