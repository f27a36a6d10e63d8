# Stockwire API. Migrations are applied by the app itself on start.
FROM node:22-slim
WORKDIR /app
COPY package.json package-lock.json ./
# Dev dependencies included: the Prisma CLI generates the client below. The
# `node` package (Node 22 for npm scripts on machines with an older Node) is
# not needed here: the image's own Node is 22.
RUN npm ci && rm -rf node_modules/node node_modules/.bin/node && npm cache clean --force
COPY . .
# The server runs as JavaScript built by esbuild (npm run build), not through tsx.
RUN npm run prisma:generate && npm run demo:build && npm run build
ENV NODE_ENV=production PORT=4000
EXPOSE 4000
USER node
# node itself is PID 1 (no npx in between), so SIGTERM reaches the app's clean stop.
CMD ["node", "--enable-source-maps", "dist/main.js"]
