// This module is browser compatible.
/**
 * Sniffing compression from the first bytes of a stream and unwrapping it.
 *
 * @example
 * ```ts
 * import { sniffCompression } from "./detect.ts";
 * console.log(sniffCompression(new Uint8Array([0x1f, 0x8b, 8, 0]))); // gzip
 * ```
 * @module
 */
import type { Compression } from "../media_types.ts";
import type { Runtime } from "../runtime/types.ts";

/** The compression the magic bytes say. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.byteLength >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (
    head.byteLength >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f &&
    head[3] === 0xfd
  ) return "zstd";
  return "none";
}

/** Reads the first bytes of a stream and returns them with a stream that still has them. */
export async function peek(
  stream: ReadableStream<Uint8Array>,
  count: number,
): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < count) {
    const r = await reader.read();
    if (r.done) {
      done = true;
      break;
    }
    chunks.push(r.value);
    have += r.value.byteLength;
  }
  const head = new Uint8Array(have);
  let at = 0;
  for (const c of chunks) {
    head.set(c, at);
    at += c.byteLength;
  }
  let first = true;
  const rest = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        first = false;
        if (head.byteLength) {
          controller.enqueue(head);
          return;
        }
      }
      if (done) {
        controller.close();
        return;
      }
      const r = await reader.read();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { head: head.subarray(0, count), stream: rest };
}

/** Removes gzip or zstd compression found by the magic bytes. */
export async function decompress(
  runtime: Runtime,
  stream: ReadableStream<Uint8Array>,
): Promise<{ stream: ReadableStream<Uint8Array>; compression: Compression }> {
  const p = await peek(stream, 4);
  const compression = sniffCompression(p.head);
  if (compression === "gzip") {
    return { stream: p.stream.pipeThrough(runtime.gunzip()), compression };
  }
  if (compression === "zstd") {
    return { stream: p.stream.pipeThrough(runtime.zstdDecompress()), compression };
  }
  return { stream: p.stream, compression };
}
