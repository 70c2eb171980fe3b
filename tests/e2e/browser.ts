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

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json",
  json: "application/json",
  wasm: "application/wasm",
  svg: "image/svg+xml",
  tar: "application/x-tar",
};

/** A running static server. */
export interface StaticServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `dir` on 127.0.0.1 (port 0 = any free one). `extra` answers paths first (for
 * files built in the test).
 */
export function serveDir(
  dir: string,
  options: {
    port?: number;
    extra?: (path: string) => Response | undefined;
    onListen?: (url: string) => void;
  } = {},
): StaticServer {
  const ac = new AbortController();
  let resolveUrl!: (url: string) => void;
  const listening = new Promise<string>((r) => (resolveUrl = r));
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    signal: ac.signal,
    onListen: ({ port }) => {
      const url = `http://127.0.0.1:${port}/`;
      resolveUrl(url);
      options.onListen?.(url);
    },
  }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    const extra = options.extra?.(path);
    if (extra) return extra;
    if (path.includes("..")) return new Response("bad path", { status: 400 });
    const file = path.endsWith("/") ? `${path}index.html` : path;
    try {
      const f = await Deno.open(`${dir}${file}`, { read: true });
      const ext = file.slice(file.lastIndexOf(".") + 1);
      return new Response(f.readable, {
        headers: {
          "content-type": TYPES[ext] ?? "application/octet-stream",
          "cache-control": "no-store",
        },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  let url = "";
  listening.then((u) => (url = u));
  return {
    get url() {
      return url;
    },
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

/** Waits until the server printed its URL. */
export async function started(server: StaticServer): Promise<string> {
  for (let i = 0; i < 200 && !server.url; i++) await new Promise((r) => setTimeout(r, 5));
  return server.url;
}
