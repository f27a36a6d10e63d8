// Prisma's schema engine (migrations) as WebAssembly, driven through a driver
// adapter. The native engine binary that the Prisma CLI downloads is not
// needed, so migrations work offline and on PGlite as well as PostgreSQL.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import * as bg from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { SchemaEngine } from "@prisma/schema-engine-wasm";

const require = createRequire(import.meta.url);
let wasmReady: Promise<void> | undefined;

/** Instantiates the wasm module once per process (Node 20 cannot `import` .wasm). */
function loadWasm(): Promise<void> {
  wasmReady ??= (async () => {
    const bgPath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const bytes = await readFile(bgPath.replace(/\.js$/, ".wasm"));
    const { instance } = await WebAssembly.instantiate(bytes, { "./schema_engine_bg.js": bg as never });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start: () => void }).__wbindgen_start();
  })();
  return wasmReady;
}

export interface EngineHandle {
  engine: SchemaEngine;
  /** Runs an engine call, turning "External error id#N" into the adapter's real error. */
  call<T>(fn: (engine: SchemaEngine) => Promise<T>): Promise<T>;
  dispose(): void;
}

export async function openSchemaEngine(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  datamodel?: { path: string; content: string },
): Promise<EngineHandle> {
  await loadWasm();
  const bound = bindMigrationAwareSqlAdapterFactory(adapterFactory);
  const logs: string[] = [];
  const engine = await bg.SchemaEngine.new(
    { datamodels: datamodel ? [[datamodel.path, datamodel.content]] : undefined },
    (line: string) => logs.push(line),
    bound,
  );
  return {
    engine,
    async call(fn) {
      try {
        return await fn(engine);
      } catch (err) {
        throw explain(err, bound);
      }
    },
    dispose: () => engine.free(),
  };
}

function explain(err: unknown, bound: ReturnType<typeof bindMigrationAwareSqlAdapterFactory>): Error {
  const message = err instanceof Error ? err.message : String(err);
  const id = /External error id#(\d+)/.exec(message)?.[1];
  if (id) {
    const cause = bound.errorRegistry.consumeError(Number(id));
    if (cause) return new Error(`${message}: ${JSON.stringify(cause.error)}`);
  }
  return err instanceof Error ? err : new Error(message);
}
