// This module is browser compatible.
/**
 * Small stream helpers shared by the importer, the layer reader, the export and the
 * checker: peeking at the first bytes, turning an async iterator into a pull stream,
 * joining chunks, and reading a byte stream in large reused chunks ({@link largeChunks}).
 *
 * @example
 * ```ts
 * import { concatBytes, iteratorStream, peek } from "./streams.ts";
 * async function* parts() {
 *   yield new Uint8Array([1, 2]);
 *   yield new Uint8Array([3]);
 * }
 * const { head, stream } = await peek(iteratorStream(parts()), 1);
 * const all: Uint8Array[] = [];
 * for await (const c of stream) all.push(c);
 * console.log(head, concatBytes(all)); // Uint8Array(1) [ 1 ] Uint8Array(3) [ 1, 2, 3 ]
 * ```
 * @module
 */

/** Joins chunks into one array (no copy for a single chunk). */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total ?? chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * A pull stream over an async iterator: one chunk per read, nothing read ahead
 * (`highWaterMark: 0`). `onEnd` runs when the iterator is done or the stream cancelled.
 */
export function iteratorStream(
  it: AsyncIterator<Uint8Array>,
  onEnd?: (reason?: unknown) => Promise<void> | void,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) {
        controller.close();
        await onEnd?.();
      } else controller.enqueue(r.value);
    },
    async cancel(reason) {
      await it.return?.(undefined);
      await onEnd?.(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * Reads at least `count` bytes (or to the end) and returns the first `count` with a
 * stream that still yields everything. `onChunk` sees every chunk read from `stream`.
 */
export async function peek(
  stream: ReadableStream<Uint8Array>,
  count: number,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const buffered: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < count) {
    const r = await reader.read();
    if (r.done) {
      done = true;
      break;
    }
    buffered.push(r.value);
    have += r.value.byteLength;
    onChunk?.(r.value);
  }
  const head = concatBytes(buffered, have).slice(0, count);
  const rest = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (buffered.length) {
        controller.enqueue(buffered.shift()!);
        return;
      }
      if (done) {
        controller.close();
        return;
      }
      const r = await reader.read();
      if (r.done) controller.close();
      else {
        onChunk?.(r.value);
        controller.enqueue(r.value);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { head, stream: rest };
}

/*
 * Reading blobs in large chunks. A byte stream (a file's `readable` in Deno) is read
 * through a BYOB reader into reused 1 MiB buffers — a third of the cost of its default
 * 64 KiB chunks when hashing or copying hundreds of megabytes (a new buffer per read costs
 * as much as the small chunks: allocation dominates). Other streams are read as they come.
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
