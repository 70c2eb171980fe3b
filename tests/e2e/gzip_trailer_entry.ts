// This module is browser compatible.
/**
 * Browser side of tests/e2e/gzip_trailer_test.ts: decodes the bytes it is given with the
 * page's gzip decoder (`webRuntime.gunzip()`: `DecompressionStream` with lading's member
 * handling) or the fflate fallback, in chunks of a given size. Exposes
 * `globalThis.__gunzip(base64, chunk, decoder)`.
 * @module
 */
import { crc32 } from "../../src/runtime/crc32.ts";
import { fflateGunzip, webRuntime } from "../../src/runtime/web.ts";

/** What one decode gave: the output's length and CRC-32, or the error. */
export type GunzipOutcome =
  | { ok: true; length: number; crc: number }
  | { ok: false; name: string; message: string };

async function gunzip(
  base64: string,
  chunk: number,
  decoder: "web" | "fflate",
): Promise<GunzipOutcome> {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += chunk) pieces.push(bytes.slice(at, at + chunk));
  const d = decoder === "web" ? webRuntime.gunzip() : fflateGunzip();
  try {
    let length = 0;
    let crc = 0;
    const input = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = pieces.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    for await (const c of input.pipeThrough(d)) {
      length += c.byteLength;
      crc = crc32(c, crc);
    }
    return { ok: true, length, crc };
  } catch (e) {
    return { ok: false, name: (e as Error).name, message: (e as Error).message };
  }
}

Object.assign(globalThis, { __gunzip: gunzip, __ready: true });
