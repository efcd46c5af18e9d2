# cpa: the periodic conversation-analysis job, with /health, /ready and /metrics on port 8080.
# Node runs the TypeScript sources directly (type stripping), so there is no build step.
FROM node:24-slim

WORKDIR /app

# Dependencies first: this layer is reused until package.json or package-lock.json change.
COPY package*.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY src/ src/
COPY config/ config/
COPY samples/ samples/
COPY bin/ bin/

# The daily log files (logging.directory, relative to /app) are the only thing the job writes
# to disk; the code stays owned by root and read-only to the user it runs as.
RUN mkdir -p /app/logs && chown node:node /app/logs

# The environment defaults keep the health server and JSON logs when CMD is replaced
# (e.g. `docker run cpa --single-batch`); .env or `-e` override them.
ENV NODE_ENV=production \
    CPA_HEALTH_PORT=8080 \
    CPA_HEALTH_HOST=0.0.0.0 \
    CPA_LOG_FORMAT=json

USER node
EXPOSE 8080

# The slim image has no curl: Node's own fetch does the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# SIGTERM (docker stop) starts a graceful stop of up to shutdown.grace_seconds (30 s): run with
# `--stop-timeout 45` (compose: stop_grace_period) so Docker does not SIGKILL it after 10 s.
ENTRYPOINT ["node", "--max-old-space-size=512", "src/main.ts"]
CMD ["--interval", "5", "--health-port", "8080", "--health-host", "0.0.0.0", "--log-format", "json"]
