/**
 * `deno run -A bench/gunzip.ts [MB]`: output MB/s of each gzip decoder (node:zlib as the
 * Deno runtime drives it, `DecompressionStream` with lading's member handling, the fflate
 * fallback) on a gzip of realistic layer content (text and incompressible bytes, three
 * members), against node:zlib's one-shot `gunzipSync` as the floor. Best of 5 runs, in
 * wall time and per CPU second (a steadier figure on a busy machine); trailer checks
 * (CRC-32 of each member, nothing after the last) included.
 * @module
 */
import { cpuUsage } from "node:process";
import * as zlib from "node:zlib";
import { denoRuntime } from "../src/runtime/deno.ts";
import type { Decoder } from "../src/runtime/types.ts";
import { fflateGunzip, nativeGunzip } from "../src/runtime/web.ts";

const mb = Number(Deno.args[0] ?? "64");
const size = Math.round(mb * 1e6);
const raw = new Uint8Array(size);
let x = 1;
const words = new TextEncoder().encode("lib usr share config the and of module return value ");
for (let at = 0; at < size; at += 65536) {
  const n = Math.min(65536, size - at);
  if ((at >> 16) % 2 === 0) {
    for (let i = 0; i < n; i++) raw[at + i] = words[(i * 7 + (at >> 16)) % words.length];
  } else {
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      raw[at + i] = x;
    }
  }
}
const third = Math.floor(size / 3);
const gz = new Uint8Array(Buffer.concat([
  zlib.gzipSync(raw.subarray(0, third), { level: 6 }),
  zlib.gzipSync(raw.subarray(third, 2 * third), { level: 6 }),
  zlib.gzipSync(raw.subarray(2 * third), { level: 6 }),
]));

/** Best of 5: MB/s of wall time and MB per CPU second (steadier on a shared machine). */
async function rate(fn: () => Promise<number>): Promise<[number, number]> {
  let best = 0;
  let bestCpu = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const c0 = cpuUsage();
    const n = await fn();
    const c = cpuUsage(c0);
    if (n !== size) throw new Error(`decoded ${n} bytes, expected ${size}`);
    best = Math.max(best, n / 1e6 / ((performance.now() - t0) / 1000));
    bestCpu = Math.max(bestCpu, n / 1e6 / ((c.user + c.system) / 1e6));
  }
  return [best, bestCpu];
}

async function drain(decoder: Decoder): Promise<number> {
  const pieces = [];
  for (let at = 0; at < gz.length; at += 1 << 20) pieces.push(gz.subarray(at, at + (1 << 20)));
  let n = 0;
  for await (const c of ReadableStream.from(pieces).pipeThrough(decoder)) n += c.byteLength;
  return n;
}

const rows: [string, [number, number]][] = [
  ["node:zlib gunzipSync (floor)", await rate(() => Promise.resolve(zlib.gunzipSync(gz).length))],
  ["deno runtime gunzip (node:zlib)", await rate(() => drain(denoRuntime.gunzip()))],
  ["web runtime gunzip (DecompressionStream)", await rate(() => drain(nativeGunzip()))],
  ["web fallback gunzip (fflate)", await rate(() => drain(fflateGunzip()))],
];
console.log(
  `gzip of ${(size / 1e6).toFixed(0)} MB (${
    (gz.length / 1e6).toFixed(1)
  } MB compressed, 3 members):`,
);
for (const [name, [wall, cpu]] of rows) {
  console.log(
    `  ${name.padEnd(42)} ${wall.toFixed(0).padStart(5)} MB/s ${
      cpu.toFixed(0).padStart(5)
    } MB per CPU second`,
  );
}
