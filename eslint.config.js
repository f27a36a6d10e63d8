// Lint keeps the layering of src/ (README, Layout): a folder imports only from its own floor or below,
// there are no import cycles, and GraphQL libraries stay above services. Rules are syntactic only
// (no type information) so `npm test` stays fast.
import { defineConfig } from "eslint/config";
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX, createNodeResolver } from "eslint-plugin-import-x";
import globals from "globals";

const root = import.meta.dirname;

// Floors of src/, bottom to top: folders, or files at the top of src/.
const FLOORS = [
  ["config", "ids", "errors", "generated", "observability"],
  ["events", "auth"],
  ["db"],
  ["realtime"],
  ["services"],
  ["schema"],
  ["fanout", "protection"],
  ["app.ts", "app", "demo"],
  ["process.ts", "pipeline-thread.ts", "cluster.ts", "main.ts"],
];

// One zone per entry below the top floor: from src/ it may import only its own floor and those below.
// An allow-list, so an entry that is on no floor (e.g. a leftover src/context/) is refused as well.
const floorZones = FLOORS.slice(0, -1).flatMap((floor, level) => {
  const allowed = FLOORS.slice(0, level + 1).flat();
  return floor.map((entry) => ({
    target: `src/${entry}`,
    from: `${root}/src/**`,
    except: [`${root}/src/{${allowed.join(",")}}{,/**}`],
    message: `src/${entry} is on floor ${level}: from src/ it may import only ${allowed.join(", ")}.`,
  }));
});

// Whatever is in src/ but on no floor (a new folder, or one the layout retired) may not import from src/ at all.
const unplaced = `!(${FLOORS.flat().join("|")})`;
const unplacedZone = {
  target: [`src/${unplaced}`, `src/${unplaced}/**`],
  from: `${root}/src/**`,
  message: "This file is on no floor of src/: move it to a folder on one, or add its folder to FLOORS in eslint.config.js.",
};

const TOOLING = ["tests", "bench", "scripts", "infra"];

const zones = [
  ...floorZones,
  unplacedZone,
  { target: "src", from: [...TOOLING, "web-demo"], message: "The application does not depend on tests, tooling or the demo's sources." },
  {
    target: "infra",
    from: ["tests", "bench", "scripts"],
    message: "infra/ is a library used by tests, bench and scripts, not the other way.",
  },
  { target: ["bench", "scripts"], from: ["tests"], message: "Test helpers are for tests; share code through infra/ or src/." },
  { target: "web-demo/src", from: ["src", ...TOOLING], message: "The browser demo talks to the API over HTTP only." },
];

// Transport and schema libraries: allowed in src/schema, src/app.ts and src/demo only.
const GRAPHQL_LIBRARIES = "^(graphql|graphql-yoga|graphql-ws)(/|$)|^@graphql-yoga/|^@pothos/";

export default defineConfig(
  {
    ignores: ["**/node_modules/", "**/.cache/", "**/.data/", "**/dist/", "src/generated/", "**/graphql-env.d.ts", "test-artifacts/"],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    plugins: { "import-x": importX },
    settings: {
      "import-x/extensions": [".ts", ".mts", ".js", ".mjs"],
      "import-x/external-module-folders": ["node_modules", "node_modules/@types"],
      // NodeNext style: `./order.sql.js` in source is `./order.sql.ts` on disk.
      "import-x/resolver-next": [
        createNodeResolver({
          extensions: [".ts", ".mts", ".d.ts", ".js", ".mjs", ".json"],
          extensionAlias: { ".js": [".ts", ".js"], ".mjs": [".mts", ".mjs"] },
        }),
      ],
    },
    languageOptions: { globals: globals.node },
    rules: {
      "import-x/no-restricted-paths": ["error", { basePath: root, zones }],
      // A zone cannot see an import it cannot resolve, so unresolved relative imports are errors
      // (packages are tsc's job; src/generated/ does not exist before `prisma generate` and is on floor 0).
      "import-x/no-unresolved": ["error", { ignore: ["^[^.]", "/generated/"] }],
      // Tests and the web demo use `any` at library seams (gql.tada documents, stand-ins); src/ does not (below).
      "@typescript-eslint/no-explicit-any": "off",
      // `let { proc, answer } = ...` where only one of them is reassigned later.
      "prefer-const": ["error", { destructuring: "all" }],
      // `_`-prefixed names are placeholders on purpose (tuple positions, unused callback arguments).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    files: ["src/**/*.ts"],
    rules: {
      // A seam that needs `any` says why on the line before (eslint-disable-next-line ... -- reason).
      "@typescript-eslint/no-explicit-any": "error",
      // Type-only imports are erased at runtime, so they do not form cycles.
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
    },
  },
  {
    files: ["src/{config,ids,errors,events,auth,db,realtime,services}/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: GRAPHQL_LIBRARIES, message: "GraphQL and transport libraries belong in src/schema, src/app.ts and src/demo." },
            {
              regex: "^prom-client$",
              message: "Report through the Metrics port (src/observability/metrics.ts); prom-client stays in src/observability.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["web-demo/src/**/*.ts"],
    languageOptions: { globals: globals.browser },
  },
);
