// Vite for the storefront demo. `npm run dev` serves it with hot reload and
// proxies the API (HTTP and graphql-ws WebSockets) to STOCKWIRE_API.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const api = process.env.STOCKWIRE_API ?? "http://127.0.0.1:4000"; // the API listens on loopback (IPv4) in demo mode

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      "/graphql": { target: api, ws: true, changeOrigin: true },
      "/demo": { target: api, changeOrigin: true },
    },
  },
  logLevel: "warn",
});
