// Chromium for the browser tests: Debian's package (apt-get, like the other
// services in infra/services/install.ts; Playwright's own browser download
// does not work offline), driven by playwright-core.
import { chromium, type Browser } from "playwright-core";
import { ensureCommand, which } from "../../../infra/services/install.js";
import { withFileLock } from "./file-lock.js";

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

/** The chromium binary, installed with apt-get when missing (once, whichever test file asks first). */
export async function ensureChromium(): Promise<string> {
  return which("chromium") ?? withFileLock("apt", () => ensureCommand("chromium", "chromium", (line) => console.log(line)));
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await ensureChromium(), args: CHROMIUM_ARGS });
}

/** Time for beforeAll hooks that may install Chromium (a download of a few hundred MB). */
export const INSTALL_TIMEOUT_MS = 600_000;
