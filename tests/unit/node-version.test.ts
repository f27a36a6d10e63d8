// The project brings its own Node (the `node` package in devDependencies): npm
// scripts put node_modules/.bin first on the PATH, so `npm test` and `npm
// start` run on it even where the machine's Node is older. This fails when the
// tests run on a Node outside package.json's engines.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};

describe("the Node the project runs on", () => {
  it("is the one package.json's engines ask for, brought by the node package", () => {
    const floor = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node);
    expect(floor, `engines.node ${pkg.engines.node}`).not.toBeNull();
    const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
    const [wantMajor, wantMinor] = [Number(floor![1]), Number(floor![2])];
    expect(major > wantMajor || (major === wantMajor && minor >= wantMinor), `running Node ${process.versions.node}`).toBe(true);
    expect(process.versions.node).toBe(pkg.devDependencies.node);
  });
});
