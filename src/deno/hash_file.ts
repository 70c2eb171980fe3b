/**
 * Deno only: hashing one blob file with synchronous 1 MiB reads (no stream machinery, no
 * thread-pool round trip per read) — shared by the in-thread and the worker side of
 * `fs_hashing.ts`.
 * @module
 */
import { denoRuntime } from "../runtime/deno.ts";

const buffer = new Uint8Array(1024 * 1024);

/**
 * The digest and size of the file at `path`, or undefined when it is not a regular file
 * (absent, or a symlink: never followed, like the store's own reads). `onBytes` gets the
 * bytes hashed, in batches of at least `every` bytes (default: every read).
 */
export async function hashBlobFile(
  path: string,
  algorithm: "sha256" | "sha512",
  onBytes?: (n: number) => void,
  every = 0,
): Promise<{ digest: string; size: number } | undefined> {
  let file: Deno.FsFile;
  try {
    if (!Deno.lstatSync(path).isFile) return undefined;
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
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
      if (unreported >= every) {
        onBytes?.(unreported);
        unreported = 0;
      }
    }
    if (unreported) onBytes?.(unreported);
    return { digest: `${algorithm}:${hasher.digest()}`, size };
  } finally {
    file.close();
  }
}
