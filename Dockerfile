# syntax=docker/dockerfile:1
# The operator image: the same Node LTS the tests pin (package.json devDependency
# "node"), the operator bundled into one file (ADR 0008), a non-root user.
# `--ignore-scripts`: the image has Node already, so the pinned-Node download of the
# npm "node" package is skipped; esbuild runs from its platform package without its
# install script.

FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY build.ts ./
COPY src ./src
RUN npm run build

# The bundle holds every dependency it uses, so the image needs no node_modules.
FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production
# glibc gives each thread that allocates an arena of its own; two keep V8's
# compiler and GC threads from fragmenting memory the operator never gets back
# (peak RSS at 5000 integrations 196 -> 190 MB, docs/BENCHMARKS.md).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /src/dist ./dist
# "type": "module" makes Node load dist/main.js as the ES module it is.
COPY package.json ./
# Matches the Deployment's runAsUser; the root file system is mounted read-only there.
USER 65532:65532
EXPOSE 8080
# V8 grows each young-generation semi-space to 64 MB under load, most of it empty.
# 2 MB: at 5000 integrations 27 MB less peak RSS than 8 MB for about 15% more
# operator CPU, now that the Kubernetes client allocates little per request
# (ADR 0010); 1 MB cost a third more and saved nothing (docs/BENCHMARKS.md).
# No --enable-source-maps: Node parses every map at load, 90 MB resident for
# client-node's; the bundle keeps its names, so stack traces stay readable.
ENTRYPOINT ["node", "--max-semi-space-size=2", "dist/main.js"]
