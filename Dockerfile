# SmartAlex Media: the server on embedded defaults (PGlite under /data).
#   docker build -t smartalex-media .
#   docker run -p 8080:8080 -p 5060:5060/udp -p 5060:5060/tcp -p 10000-10100:10000-10100/udp \
#     -e SMARTALEX_RTP_PORT_MIN=10000 -e SMARTALEX_RTP_PORT_MAX=10100 -v smartalex-data:/data smartalex-media
# Set DATABASE_URL for a Postgres server; see README.md for every setting.
FROM node:24-bookworm-slim

# Offline speech recognition (pocketsphinx; no npm package ships a model), the espeak-ng program as an
# alternative to the npm WebAssembly eSpeak NG, sox for audio, tini to forward signals and reap children.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      espeak-ng sox pocketsphinx pocketsphinx-en-us tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first (cached while only sources change), with the project's .npmrc (no dependency install scripts).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-fund --no-audit && npm cache clean --force

COPY --chown=root:root . .

# Runs as the image's unprivileged `node` user; the data directory is its volume.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
# A container is reached through its port mapping, so HTTP binds every interface; plain HTTP there is
# allowed on the assumption that TLS terminates in front of it. Configure SMARTALEX_HTTP_TLS_CERT and
# SMARTALEX_HTTP_TLS_KEY to serve HTTPS from the container itself.
ENV SMARTALEX_DATA_DIR=/data \
    SMARTALEX_HTTP_HOST=0.0.0.0 \
    SMARTALEX_HTTP_ALLOW_PLAIN=true \
    SMARTALEX_HTTP_PORT=8080 \
    SMARTALEX_SIP_PORT=5060 \
    SMARTALEX_RTP_PORT_MIN=10000 \
    SMARTALEX_RTP_PORT_MAX=20000
VOLUME ["/data"]
USER node

# HTTP (health, metrics, API); SIP over UDP and TCP (5061/tcp is SIP over TLS when a certificate is configured); RTP.
EXPOSE 8080 5060/udp 5060/tcp 5061/tcp 10000-20000/udp

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.SMARTALEX_HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["npm", "start"]
