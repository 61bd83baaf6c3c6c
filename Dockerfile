# syntax=docker/dockerfile:1
# Multi-stage build of creditra-backend. Mirrors the npm scripts: `npm ci` + `npm run build` compile
# src/ to dist/ (plain JavaScript, no tsx at run time); the runtime stage has production dependencies only
# and runs `node dist/index.js` (= `npm run start:prod`) as the unprivileged `node` user.

ARG NODE_VERSION=20

# ---- build ---------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime -------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# dist/ must sit next to migrations/, risk-models/ and openapi.yaml: src/lib/paths.ts resolves them from dist/..
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
COPY risk-models ./risk-models
COPY openapi.yaml ./
# Only used when DATABASE_URL is unset (embedded PGlite in ./data); owned by the runtime user.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM reaches node directly (exec form, PID 1): the server drains within SHUTDOWN_TIMEOUT_MS and exits 0.
CMD ["node", "dist/index.js"]
