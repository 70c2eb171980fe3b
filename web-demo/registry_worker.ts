/**
 * The page's registry worker: pulls images from a registry into the browser's store (OPFS)
 * and pushes images of that store to a registry, with the library's `pullImage` /
 * `pushImage` and the browser's `fetch`. It opens the same OPFS store as `worker.ts` (the
 * store is safe to share between workers: writer lock, per-digest locks, owner leases).
 *
 * Messages: `{ id, request: RegistryRequest }` in; `{ id, progress }`, then `{ id, result }`
 * or `{ id, error: { message } }` out; `{ ready: true }` or `{ fatal }` once at start.
 * Credentials arrive with each request and live only in that request's closure.
 * @module
 */
import type { BlobProgress } from "../src/copy.ts";
import { listImageSummaries } from "../src/image.ts";
import { parsePlatform } from "../src/platform.ts";
import { RegistryClient } from "../src/registry/client.ts";
import { pullImage, pushImage } from "../src/registry/pull.ts";
import { openOpfsStore, type OpfsStore } from "../src/store/opfs.ts";
import {
  parseRemoteInput,
  plainRegistryError,
  proxiedFetch,
  typedCredentials,
} from "../src/web/remote.ts";

/** The store `worker.ts` opens. */
const STORE_PATH = "lading";

/** What the page asks of this worker. */
export type RegistryRequest =
  | {
    readonly op: "pull";
    /** `http://host/repo:tag`, `https://…` or a reference. */
    readonly remote: string;
    readonly proxy?: string;
    readonly username?: string;
    readonly password?: string;
    /** `linux/amd64`; empty with `allPlatforms` false: the library's default. */
    readonly platform?: string;
    readonly allPlatforms?: boolean;
  }
  | {
    readonly op: "push";
    readonly remote: string;
    /** The name in this browser's store. */
    readonly local: string;
    readonly proxy?: string;
    readonly username?: string;
    readonly password?: string;
  }
  | { readonly op: "names" };

/** Progress of a transfer, in bytes. */
export interface RegistryProgress {
  readonly bytes: number;
  readonly total?: number;
}

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(m: unknown): void;
};

let store!: OpfsStore;

function clientFor(r: { remote: string; proxy?: string; username?: string; password?: string }) {
  const target = parseRemoteInput(r.remote);
  const client = new RegistryClient(target.host, {
    plainHttp: target.plainHttp,
    fetch: proxiedFetch(r.proxy),
    credentials: typedCredentials(target.host, r.username ?? "", r.password ?? ""),
    // A browser hides why a request failed; do not make the user wait through backoff.
    retries: 1,
  });
  return { target, client };
}

function progressOf(id: number) {
  const blobs = new Map<string, { done: number; size: number }>();
  let last = 0;
  return (p: BlobProgress) => {
    // A retried upload starts its blob again: the total does not go back.
    blobs.set(p.digest, { done: Math.max(p.done, blobs.get(p.digest)?.done ?? 0), size: p.size });
    const now = performance.now();
    if (now - last < 100) return;
    last = now;
    let bytes = 0;
    let total = 0;
    for (const b of blobs.values()) {
      bytes += b.done;
      total += b.size;
    }
    scope.postMessage({ id, progress: { bytes, total } satisfies RegistryProgress });
  };
}

async function handle(id: number, request: RegistryRequest): Promise<unknown> {
  switch (request.op) {
    case "names":
      return (await listImageSummaries(store)).map((s) => s.name);
    case "pull": {
      const { target, client } = clientFor(request);
      try {
        const r = await pullImage(store, target.ref, {
          client,
          platforms: request.platform?.trim()
            ? [parsePlatform(request.platform.trim())]
            : undefined,
          allPlatforms: request.allPlatforms,
          onProgress: progressOf(id),
        });
        return {
          name: r.name,
          digest: r.digest,
          platforms: r.platforms,
          blobs: r.blobs,
          warnings: r.warnings,
        };
      } catch (e) {
        throw new Error(plainRegistryError(e, target.host));
      }
    }
    case "push": {
      const { target, client } = clientFor(request);
      try {
        const r = await pushImage(store, request.local, {
          to: target.ref,
          client,
          onProgress: progressOf(id),
        });
        return { ref: r.ref, digest: r.digest, blobs: r.blobs, warnings: r.warnings };
      } catch (e) {
        throw new Error(plainRegistryError(e, target.host));
      }
    }
  }
}

scope.onmessage = async (e: MessageEvent) => {
  const { id, request } = e.data as { id: number; request: RegistryRequest };
  try {
    scope.postMessage({ id, result: await handle(id, request) });
  } catch (err) {
    scope.postMessage({ id, error: { message: err instanceof Error ? err.message : String(err) } });
  }
};

try {
  store = await openOpfsStore({
    path: STORE_PATH,
    writerWorker: () =>
      new Worker(new URL("./opfs_writer.js", import.meta.url), { type: "module" }),
  });
  scope.postMessage({ ready: true });
} catch (e) {
  scope.postMessage({ fatal: { message: e instanceof Error ? e.message : String(e) } });
}
