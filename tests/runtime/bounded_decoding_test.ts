/**
 * Every decompressor of both runtime adapters holds memory bounded whatever the ratio: a
 * bomb handed over as one input chunk is decoded only as fast as it is read (peak RSS of
 * the child process ≤ 256 MiB for 300 MiB of output), and corrupt, truncated or trailing
 * data is one InvalidInputError, never a crash or a hang.
 * @module
 */
import * as zlib from "node:zlib";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { denoRuntime } from "../../src/runtime/deno.ts";
import { fflateGunzip, fzstdDecompress, nativeGunzip } from "../../src/runtime/web.ts";
import type { Decoder } from "../../src/runtime/types.ts";
import { RSS_LIMIT, runDeno } from "../helpers/peak_rss.ts";

const MIB = 1024 * 1024;
const reader = new URL("./_bomb_reader.ts", import.meta.url);

for (const codec of ["deno-gzip", "deno-zstd", "native-gzip", "fflate-gzip", "fzstd"]) {
  Deno.test(`${codec} decodes a 300 MiB bomb given as one chunk in at most 256 MiB RSS`, async () => {
    const web = !codec.startsWith("deno-");
    const r = await runDeno(reader, [codec, "300"], { v8Flags: web ? ["--expose-gc"] : [] });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(Number(r.stdout.trim()), 300 * MIB);
    assert(
      r.peakRss <= RSS_LIMIT,
      `${codec}: peak RSS ${Math.round(r.peakRss / MIB)} MiB > ${RSS_LIMIT / MIB} MiB`,
    );
  });
}

const text = new TextEncoder().encode("lading ".repeat(20000));
const gz = new Uint8Array(zlib.gzipSync(text));
const zst = new Uint8Array(zlib.zstdCompressSync(text, {
  params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 },
}));

function flipped(bytes: Uint8Array, at: number): Uint8Array {
  const b = bytes.slice();
  b[at] ^= 0xff;
  return b;
}

function decode(input: Uint8Array, decoder: Decoder): Promise<ArrayBuffer> {
  return new Response(ReadableStream.from([input]).pipeThrough(decoder)).arrayBuffer();
}

const gunzips: [string, () => Decoder][] = [
  ["deno gunzip", () => denoRuntime.gunzip()],
  ["native gunzip", nativeGunzip],
  ["fflate gunzip", fflateGunzip],
];
const unzstds: [string, () => Decoder][] = [
  ["deno zstd", () => denoRuntime.zstdDecompress()],
  ["fzstd", fzstdDecompress],
];

for (const [name, make] of gunzips) {
  for (
    const [what, input] of [
      ["a wrong CRC", flipped(gz, gz.length - 6)],
      ["a flipped byte in the deflate data", flipped(gz, Math.floor(gz.length / 2))],
      ["a cut before the trailer", gz.subarray(0, gz.length - 5)],
      ["a cut in the middle", gz.subarray(0, Math.floor(gz.length / 2))],
      ["trailing garbage", new Uint8Array([...gz, 1, 2, 3, 4, 5])],
    ] as const
  ) {
    Deno.test(`${name} rejects gzip with ${what} as one InvalidInputError`, async () => {
      await assertRejects(() => decode(input, make()), InvalidInputError);
    });
  }
}

for (const [name, make] of unzstds) {
  for (
    const [what, input] of [
      ["a wrong frame checksum", flipped(zst, zst.length - 2)],
      ["a flipped byte in a block", flipped(zst, Math.floor(zst.length / 2))],
      ["a cut in the middle", zst.subarray(0, Math.floor(zst.length / 2))],
    ] as const
  ) {
    Deno.test(`${name} rejects zstd with ${what} as one InvalidInputError`, async () => {
      await assertRejects(() => decode(input, make()), InvalidInputError);
    });
  }
}

Deno.test("a decoder whose reader cancels stops decoding and releases its input side", async () => {
  const zeros = new Uint8Array(zlib.gzipSync(new Uint8Array(64 * MIB)));
  for (const [, make] of [...gunzips]) {
    const r = ReadableStream.from([zeros]).pipeThrough(make()).getReader();
    const first = await r.read();
    assert(!first.done);
    await r.cancel();
  }
});
