// This module is browser compatible.
/**
 * Reading blobs in large chunks. A byte stream (a file's `readable` in Deno) is read
 * through a BYOB reader into 1 MiB buffers — half the cost of its default 64 KiB chunks
 * when hashing or copying hundreds of megabytes. Other streams are read as they come.
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
  let buffer: ArrayBuffer | undefined;
  let done = false;
  try {
    while (true) {
      if (!buffer || options.fresh) buffer = new ArrayBuffer(size);
      const r = await byob.read(new Uint8Array(buffer, 0, size));
      if (r.done) {
        done = true;
        return;
      }
      buffer = r.value.buffer as ArrayBuffer; // the read transferred it
      if (r.value.byteLength > 0) yield r.value;
    }
  } finally {
    if (!done) await byob.cancel().catch(() => {});
    byob.releaseLock();
  }
}
