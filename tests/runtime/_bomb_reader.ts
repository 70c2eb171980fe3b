/**
 * Child process of bounded_decoding_test.ts: decodes a compression bomb given as ONE input
 * chunk, reading its output slowly, and prints the number of bytes decoded.
 * Usage: _bomb_reader.ts <deno-gzip|deno-zstd|native-gzip|fflate-gzip|fzstd> <MiB>
 */
import * as zlib from "node:zlib";
import { denoRuntime } from "../../src/runtime/deno.ts";
import { fflateGunzip, fzstdDecompress, nativeGunzip } from "../../src/runtime/web.ts";

const [codec, mib] = Deno.args;
const zeros = new Uint8Array(1024 * 1024);
const zstd = codec.endsWith("zstd");
// Many members/frames of 1 MiB of zeros each: valid multi-member gzip / multi-frame zstd.
const one = new Uint8Array(
  zstd ? zlib.zstdCompressSync(zeros) : zlib.gzipSync(zeros, { level: 9 }),
);
const bomb = new Uint8Array(one.byteLength * Number(mib));
for (let i = 0; i < Number(mib); i++) bomb.set(one, i * one.byteLength);
const decoder = codec === "deno-gzip"
  ? denoRuntime.gunzip()
  : codec === "deno-zstd"
  ? denoRuntime.zstdDecompress()
  : codec === "native-gzip"
  ? nativeGunzip()
  : codec === "fflate-gzip"
  ? fflateGunzip()
  : fzstdDecompress();
let total = 0;
let reads = 0;
for await (const chunk of ReadableStream.from([bomb]).pipeThrough(decoder)) {
  total += chunk.byteLength;
  // A slow reader: give the decoder time to run ahead if it would.
  if (++reads % 16 === 0) {
    await new Promise((r) => setTimeout(r, 0));
    // The web codecs' output chunks are freed late by Deno's GC (a browser collects them
    // sooner): with --expose-gc what is measured is the memory they keep alive.
    (globalThis as { gc?: () => void }).gc?.();
  }
}
console.log(total);
