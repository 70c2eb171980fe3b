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
  /**
   * Reads issued before the consumer asks (default 0): the next read runs while the
   * consumer works on the current chunk. Each one shortens a reused chunk's life by one.
   */
  readonly readAhead?: number;
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
  const slots = Math.max(1, options.buffers ?? 1);
  const ahead = Math.max(0, Math.min(options.readAhead ?? 0, slots - 1));
  const pool: (ArrayBuffer | undefined)[] = new Array(slots);
  let issued = 0;
  let done = false;
  const pending: { slot: number; read: Promise<ReadableStreamReadResult<Uint8Array>> }[] = [];
  // Read k goes into slot k % slots, so the chunk of read k stays valid until read
  // k + slots is issued: `slots - ahead - 1` more chunks after it was yielded.
  const issue = () => {
    const slot = issued++ % slots;
    const buffer = (!options.fresh && pool[slot]) || new ArrayBuffer(size);
    pool[slot] = undefined;
    const read = byob!.read(new Uint8Array(buffer, 0, size));
    read.catch(() => {}); // awaited in turn below
    pending.push({ slot, read });
  };
  try {
    for (let i = 0; i < ahead; i++) issue();
    while (true) {
      issue();
      const next = pending.shift()!;
      const r = await next.read;
      if (r.done) {
        done = true;
        return;
      }
      pool[next.slot] = r.value.buffer as ArrayBuffer; // the read transferred it
      if (r.value.byteLength > 0) yield r.value;
    }
  } finally {
    if (!done) await byob.cancel().catch(() => {});
    byob.releaseLock();
  }
}
