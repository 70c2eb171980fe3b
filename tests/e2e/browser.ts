/**
 * Shared pieces of the Chromium tests: find and launch Debian's chromium with
 * playwright-core, serve a folder on 127.0.0.1, decide whether to skip.
 *
 * Without `/usr/bin/chromium` the tests print a visible "skipped" line, except in CI
 * (`CI=true`), where a missing browser is a failure.
 * @module
 */
import { type Browser, chromium } from "playwright-core";

/** Where Debian's chromium lives (override with `LADING_CHROMIUM`). */
export const CHROMIUM = Deno.env.get("LADING_CHROMIUM") ?? "/usr/bin/chromium";

/** Flags for a quiet, local-only headless Chromium. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];

/** True when Chromium is installed. */
export function chromiumAvailable(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/**
 * Whether the browser tests should run. Prints why they are skipped; in CI a missing
 * browser throws instead.
 */
export function browserTestsEnabled(what: string): boolean {
  if (chromiumAvailable()) return true;
  if (Deno.env.get("CI") === "true") {
    throw new Error(
      `${what}: ${CHROMIUM} is missing, and CI=true requires the browser tests (apt-get install chromium)`,
    );
  }
  console.log(
    `%cskipped: ${what} (no Chromium at ${CHROMIUM}; apt-get install chromium)`,
    "color: yellow",
  );
  return false;
}

/** Launches headless Chromium with a fresh temporary profile. */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export { serveDir, type StaticServer } from "../../web-demo/serve.ts";
import type { StaticServer } from "../../web-demo/serve.ts";

/** Waits until the server listens; its URL. */
export function started(server: StaticServer): Promise<string> {
  return server.listening;
}
