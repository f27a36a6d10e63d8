# Stockwire API. Migrations are applied by the app itself on start.
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
# Dev dependencies included: the Prisma CLI generates the client below, and
# the app runs from TypeScript sources with tsx.
RUN npm ci && npm cache clean --force
COPY . .
RUN npm run prisma:generate && npm run demo:build
ENV NODE_ENV=production PORT=4000
EXPOSE 4000
USER node
# node itself is PID 1 (no npx in between), so SIGTERM reaches the app's clean stop.
CMD ["node", "--import", "tsx", "src/main.ts"]
