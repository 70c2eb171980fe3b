/**
 * Deno only: the worker thread of `fs_hashing.ts`. Hashes one blob file per request with
 * synchronous 1 MiB reads, posting progress every 4 MiB. A path that is not a regular file
 * (absent, or a symlink) is reported missing, like the store's own reads.
 *
 * Requests: `{ id, path, algorithm }`. Replies: `{ id, bytes }` (progress),
 * `{ id, digest, size }`, `{ id, missing: true }` or `{ id, error }`.
 * @module
 */
import { denoRuntime } from "../runtime/deno.ts";

/** A request to the worker. */
export interface HashRequest {
  readonly id: number;
  readonly path: string;
  readonly algorithm: "sha256" | "sha512";
}

/** A reply from the worker. */
export type HashReply =
  | { readonly id: number; readonly bytes: number }
  | { readonly id: number; readonly digest: string; readonly size: number }
  | { readonly id: number; readonly missing: true }
  | { readonly id: number; readonly error: string };

/** This worker's global scope (typed here: JSR refuses a `deno.worker` lib directive). */
const scope = globalThis as unknown as {
  postMessage(message: HashReply): void;
  onmessage: ((event: MessageEvent<HashRequest>) => void) | null;
};

const PROGRESS_EVERY = 4 * 1024 * 1024;
const buffer = new Uint8Array(1024 * 1024);

async function hashFile(request: HashRequest): Promise<HashReply> {
  const { id, path, algorithm } = request;
  let file: Deno.FsFile;
  try {
    if (!Deno.lstatSync(path).isFile) return { id, missing: true };
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { id, missing: true };
    throw e;
  }
  try {
    const hasher = await denoRuntime.createHasher(algorithm);
    let size = 0;
    let unreported = 0;
    for (let n = file.readSync(buffer); n !== null; n = file.readSync(buffer)) {
      hasher.update(buffer.subarray(0, n));
      size += n;
      unreported += n;
      if (unreported >= PROGRESS_EVERY) {
        scope.postMessage({ id, bytes: unreported });
        unreported = 0;
      }
    }
    if (unreported) scope.postMessage({ id, bytes: unreported });
    return { id, digest: `${algorithm}:${hasher.digest()}`, size };
  } finally {
    file.close();
  }
}

scope.onmessage = async (event: MessageEvent<HashRequest>) => {
  let reply: HashReply;
  try {
    reply = await hashFile(event.data);
  } catch (e) {
    reply = { id: event.data.id, error: e instanceof Error ? e.message : String(e) };
  }
  scope.postMessage(reply);
};
