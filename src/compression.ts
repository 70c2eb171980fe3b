// This module is browser compatible.
/**
 * Compression of archives and layers told from their first bytes (gzip, zstd — also a
 * zstd skippable frame — or none), and removing it through the runtime's decoders.
 *
 * @example
 * ```ts
 * import { detectCompression } from "@lading/oci";
 * console.log(detectCompression(new Uint8Array([0x1f, 0x8b, 8, 0]))); // gzip
 * ```
 * @module
 */
import type { Compression } from "./media_types.ts";
import type { Runtime } from "./runtime/types.ts";
import { peek } from "./streams.ts";

export type { Compression };

/**
 * The compression the magic bytes say.
 *
 * @example
 * ```ts
 * import { detectCompression } from "@lading/oci";
 * console.log(detectCompression(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]))); // zstd
 * ```
 */
export function detectCompression(head: Uint8Array): Compression {
  if (head.byteLength >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.byteLength < 4) return "none";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  // A zstd skippable frame (magic 0x184D2A50..5F, little endian).
  if ((head[0] & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) {
    return "zstd";
  }
  return "none";
}

/** Removes gzip or zstd compression found by the magic bytes. */
export async function decompress(
  runtime: Runtime,
  stream: ReadableStream<Uint8Array>,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<{ stream: ReadableStream<Uint8Array>; compression: Compression }> {
  const p = await peek(stream, 4, onChunk);
  const compression = detectCompression(p.head);
  if (compression === "gzip") {
    return { stream: p.stream.pipeThrough(runtime.gunzip()), compression };
  }
  if (compression === "zstd") {
    return { stream: p.stream.pipeThrough(runtime.zstdDecompress()), compression };
  }
  return { stream: p.stream, compression };
}
