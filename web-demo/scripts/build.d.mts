// Types of build.mjs, for the browser tests that make sure the demo is built.
export function inputsHash(): string;
export function isUpToDate(hash?: string): boolean;
export function buildDemo(options?: { force?: boolean; log?: (line: string) => void }): Promise<boolean>;
