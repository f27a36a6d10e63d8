// `npm run dev`: the API (tsx watch, restarts on changes in src/) and the
// storefront's Vite dev server (hot reload, proxying /graphql with its
// WebSockets and /demo to the API), side by side. Ctrl-C stops both.
// `npm run dev:api` runs the API alone.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const port = process.env.PORT ?? "4000";

const children = [
  spawn(bin("tsx"), ["watch", "src/main.ts"], { cwd: root, stdio: "inherit", env: { ...process.env, PORT: port } }),
  spawn(bin("vite"), ["--config", "web-demo/vite.config.ts", "--logLevel", "info"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, STOCKWIRE_API: process.env.STOCKWIRE_API ?? `http://127.0.0.1:${port}` },
  }),
];

let stopping = false;
const stop = (code) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  process.exitCode = code;
};
for (const child of children) child.on("exit", (code) => stop(code ?? 1));
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
