/**
 * Deno only: the worker thread of `fs_hashing.ts`. Hashes one blob file per request
 * (`hash_file.ts`), posting progress every 4 MiB. A path that is not a regular file
 * (absent, or a symlink) is reported missing, like the store's own reads.
 *
 * Requests: `{ id, path, algorithm }`. Replies: `{ id, bytes }` (progress),
 * `{ id, digest, size }`, `{ id, missing: true }` or `{ id, error }`.
 * @module
 */
import { hashBlobFile } from "./hash_file.ts";

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

async function hashFile({ id, path, algorithm }: HashRequest): Promise<HashReply> {
  const r = await hashBlobFile(
    path,
    algorithm,
    (bytes) => scope.postMessage({ id, bytes }),
    PROGRESS_EVERY,
  );
  return r ? { id, ...r } : { id, missing: true };
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
