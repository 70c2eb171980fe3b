// This module is browser compatible.
/**
 * Small stream helpers shared by the importer, the layer reader and the export: peeking
 * at the first bytes, turning an async iterator into a pull stream, joining chunks.
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
