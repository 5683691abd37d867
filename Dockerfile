# syntax=docker/dockerfile:1
# mcp-registry-oidc, the login service. Configured only by environment variables (README.md):
#   docker build -t mcp-registry-oidc .
#   docker run --rm -p 8080:8080 --env-file .env mcp-registry-oidc
# No secret is baked in; the development provider (dev/) never enters this image.

# The active LTS line of Node.js; `npm ci`, `npm test` and `npm run demo` also run on Node 20.19+.
ARG NODE_VERSION=26

# 1. Compile the TypeScript, with every dependency the compiler needs.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: the compiled service and its production node_modules, owned by root, run as "node".
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
# Node's own fetch: the image needs no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# What `npm start` runs: dist/main.js, with stack traces mapped to the TypeScript source.
CMD ["node", "dist/main.js"]
