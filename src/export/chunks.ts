// This module is browser compatible.
/**
 * Reading blobs in large chunks. A byte stream (a file's `readable` in Deno) is read
 * through a BYOB reader into reused 1 MiB buffers — a third of the cost of its default
 * 64 KiB chunks when hashing or copying hundreds of megabytes (a new buffer per read costs
 * as much as the small chunks: allocation dominates). Other streams are read as they come.
 *
 * @example
 * ```ts
 * import { largeChunks } from "./chunks.ts";
 * const stream = new Blob([new Uint8Array(10)]).stream();
 * let n = 0;
 * for await (const chunk of largeChunks(stream)) n += chunk.byteLength;
 * console.log(n); // 10
 * ```
 * @module
 */

/** Options of {@link largeChunks}. */
export interface LargeChunkOptions {
  /** Buffer size (default 1 MiB). */
  readonly size?: number;
  /**
   * Read every chunk into a new buffer, so the consumer may keep it (queue it for an
   * asynchronous write). By default one buffer is reused, and a chunk is only valid
   * until the next one is requested — right for a hash.
   */
  readonly fresh?: boolean;
  /**
   * Without `fresh`: buffers used in turn (default 1). A chunk stays valid until
   * `buffers` more chunks were requested.
   */
  readonly buffers?: number;
}

/**
 * Yields the bytes of `stream` in chunks of up to `size` bytes (BYOB reads when the
 * stream is a byte stream; other streams' chunks as they come).
 */
export async function* largeChunks(
  stream: ReadableStream<Uint8Array>,
  options: LargeChunkOptions = {},
): AsyncGenerator<Uint8Array> {
  const size = options.size ?? 1024 * 1024;
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    byob = undefined; // not a byte stream
  }
  if (!byob) {
    yield* stream;
    return;
  }
  const pool: (ArrayBuffer | undefined)[] = new Array(Math.max(1, options.buffers ?? 1));
  let slot = 0;
  let done = false;
  try {
    while (true) {
      const buffer = (!options.fresh && pool[slot]) || new ArrayBuffer(size);
      const r = await byob.read(new Uint8Array(buffer, 0, size));
      if (r.done) {
        done = true;
        return;
      }
      pool[slot] = r.value.buffer as ArrayBuffer; // the read transferred it
      slot = (slot + 1) % pool.length;
      if (r.value.byteLength > 0) yield r.value;
    }
  } finally {
    if (!done) await byob.cancel().catch(() => {});
    byob.releaseLock();
  }
}
