/**
 * `deno task web`: builds the page (unless `--no-build`) and serves `web-demo/dist/` on
 * 127.0.0.1, printing the URL. `--port N` picks the port (default 8000; 0 = any free one).
 * @module
 */
import { buildDemo, repoPath, stopBundler } from "./build.ts";

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
  /** `http://127.0.0.1:<port>/` once listening. */
  readonly url: string;
  /** Resolves with the URL once listening. */
  readonly listening: Promise<string>;
  close(): Promise<void>;
}

/**
 * Serves `dir` on 127.0.0.1 (port 0 = any free one). `extra` answers paths first (for
 * files built in a test).
 */
export function serveDir(
  dir: string,
  options: {
    port?: number;
    extra?: (path: string) => Response | undefined;
  } = {},
): StaticServer {
  const ac = new AbortController();
  let resolveUrl!: (url: string) => void;
  const listening = new Promise<string>((r) => (resolveUrl = r));
  let url = "";
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    signal: ac.signal,
    onListen: ({ port }) => {
      url = `http://127.0.0.1:${port}/`;
      resolveUrl(url);
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
          "cache-control": "no-cache",
        },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return {
    get url() {
      return url;
    },
    listening,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

if (import.meta.main) {
  const args = [...Deno.args];
  const portAt = args.indexOf("--port");
  const port = portAt >= 0 ? Number(args[portAt + 1]) : 8000;
  const dist = repoPath("web-demo/dist");
  if (!args.includes("--no-build")) {
    await buildDemo(dist);
    await stopBundler();
  }
  const server = serveDir(dist, { port });
  console.log(`lading web page: ${await server.listening}  (Ctrl-C stops)`);
}
