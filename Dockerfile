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
# jemalloc instead of glibc's malloc (ADR 0011): glibc keeps what V8's threads and the
# TLS connections free in fragments it cannot return; jemalloc hands freed pages back
# at once. 10 to 17 MB less peak RSS at 5000 integrations than glibc for no CPU we
# could measure, and about 4 MB less than a quarter second of decay for about 4% more
# operator CPU (ADR 0011, docs/BENCHMARKS.md).
RUN apt-get update \
  && apt-get install -y --no-install-recommends libjemalloc2=5.3.0-1 \
  && rm -rf /var/lib/apt/lists/* \
  && ln -s "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2
ENV MALLOC_CONF=background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0,narenas:2
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
# --max-opt=2: no TurboFan, Maglev at most. Its code and compile zones cost 4 to 5 MB
# of peak RSS at 5000, and the operator's CPU goes to TLS, JSON and GC, not to hot
# JavaScript: no change we could measure (docs/BENCHMARKS.md).
# Not --optimize-for-size nor --memory-saver-mode: 5 to 13 MB less at 5000, for 15 to
# 17% more operator CPU, more than the ratio to the floor at 1000 can spare (ADR 0011).
# No --enable-source-maps: Node parses every map at load, 90 MB resident for
# client-node's; the bundle keeps its names, so stack traces stay readable.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--max-opt=2", "dist/main.js"]
