// This module is browser compatible.
/**
 * Reading a gzip layer from an access point: the compressed bytes from a deflate block
 * boundary on, inflated with the 32 KiB of output before it as history, give the
 * uncompressed stream from that point on (zlib's `zran.c` idea). The points are recorded
 * when a layer is read once (`deno/gzip_index.ts`); this half needs no more than the
 * platform's `DecompressionStream`, so that reading one member loads no zlib binding.
 *
 * The window is handed to the inflater as a stored block in front of the bytes (its own
 * output is dropped): `DecompressionStream` takes no dictionary.
 *
 * @example
 * ```ts
 * import { inflateFrom, storedBlock } from "./gzip_access.ts";
 * // A raw deflate stream that is one final stored block holding "abc":
 * const deflate = new Uint8Array([1, 3, 0, 0xfc, 0xff, 97, 98, 99]);
 * const point = { start: 0, out: 0, window: new Uint8Array(0) };
 * const out = inflateFrom(point, new Blob([deflate]).stream(), { end: deflate.byteLength });
 * console.log(await new Response(out).text(), storedBlock(new Uint8Array(2)).byteLength); // abc 7
 * ```
 * @module
 */

/** Where a deflate block starts, with what the inflater needs to start there. */
export interface AccessPoint {
  /** Offset in the blob of the block's first byte. */
  readonly start: number;
  /** Uncompressed offset of the block's first byte. */
  readonly out: number;
  /** The (up to) 32 KiB of uncompressed output before `out`. */
  readonly window: Uint8Array;
}

/**
 * A stored (uncompressed, not final) deflate block holding `window` (≤ 65535 bytes): fed
 * to a raw inflater first, it puts the window in the inflater's history and leaves the
 * stream byte-aligned.
 */
export function storedBlock(window: Uint8Array): Uint8Array {
  const n = window.byteLength;
  const block = new Uint8Array(5 + n);
  block.set([0, n & 0xff, n >> 8, ~n & 0xff, (~n >> 8) & 0xff]);
  block.set(window, 5);
  return block;
}

/**
 * The uncompressed bytes from access point `point` on. `compressed` must start at
 * `point.start` in the blob; `end` is the blob offset where the deflate data ends (for a
 * single-member gzip, the blob's size minus its 8-byte trailer): nothing after it is fed
 * to the inflater. Cancelling the result cancels `compressed`.
 */
export function inflateFrom(
  point: AccessPoint,
  compressed: ReadableStream<Uint8Array>,
  options: { end: number },
): ReadableStream<Uint8Array> {
  let left = options.end - point.start;
  let skip = point.window.byteLength; // the window's own output
  const reader = compressed.getReader();
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(storedBlock(point.window));
    },
    async pull(controller) {
      if (left <= 0) {
        await reader.cancel().catch(() => {});
        controller.close();
        return;
      }
      const r = await reader.read();
      if (r.done) {
        controller.close();
        return;
      }
      const chunk = r.value.byteLength > left ? r.value.subarray(0, left) : r.value;
      left -= chunk.byteLength;
      controller.enqueue(chunk);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  const inflate = new DecompressionStream("deflate-raw") as unknown as ReadableWritablePair<
    Uint8Array,
    Uint8Array
  >;
  return input.pipeThrough(inflate).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (skip >= chunk.byteLength) {
          skip -= chunk.byteLength;
          return;
        }
        controller.enqueue(skip > 0 ? chunk.subarray(skip) : chunk);
        skip = 0;
      },
    }),
  );
}
