// A throwaway Redis server on 127.0.0.1 and a free port, nothing persisted
// (pause() and resume() restart it empty, as a crashed Redis would come back).
import net from "node:net";
import path from "node:path";
import { ensureCommand } from "./install.js";
import { freePort } from "./ports.js";
import { makeTempDir, restartable, spawnReady, type StartedService } from "./process.js";

export interface RedisOptions {
  log?: (line: string) => void;
  readyTimeoutMs?: number;
}

export async function startRedis(opts: RedisOptions = {}): Promise<StartedService> {
  const bin = await ensureCommand("redis-server", "redis-server", opts.log ?? console.log);
  const dir = await makeTempDir("stockwire-redis-");
  try {
    const port = await freePort();
    // Also what resume() runs: the same port and dir.
    const launch = () =>
      spawnReady(
        [
          "redis-server",
          bin,
          ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.path, "--logfile", ""],
          { cwd: dir.path, logFile: path.join(dir.path, "redis.log") },
        ],
        { what: `redis-server on 127.0.0.1:${port}`, timeoutMs: opts.readyTimeoutMs ?? 15_000, probe: () => redisVersion(port) },
      );
    return await restartable(dir, launch, ({ proc, answer: version }) => ({
      url: `redis://127.0.0.1:${port}`,
      describe: `Redis ${version} (pid ${proc.pid}, dir ${dir.path})`,
    }));
  } catch (err) {
    await dir.remove();
    throw err;
  }
}

/** Asks the server for INFO server over a raw socket; resolves with redis_version once it answers. */
function redisVersion(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let reply = "";
    socket.setTimeout(2_000, () => socket.destroy(new Error("no reply")));
    socket.on("error", reject);
    socket.on("connect", () => socket.write("INFO server\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk;
      if (reply.startsWith("-")) return socket.destroy(new Error(reply.trim())); // e.g. -LOADING
      const version = /redis_version:(\S+)/.exec(reply)?.[1];
      if (version) {
        socket.destroy();
        resolve(version);
      }
    });
  });
}
