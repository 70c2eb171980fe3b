/**
 * The web runtime adapter gives the same bytes as the Deno adapter: gzip single and
 * multi-member (every chunking), zstd multi-frame, sha256/sha512, gzip writing.
 * @module
 */
import * as zlib from "node:zlib";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { denoRuntime } from "../../src/runtime/deno.ts";
import {
  fflateGunzip,
  fflateGzip,
  fzstdDecompress,
  nativeGunzip,
  webRuntime,
} from "../../src/runtime/web.ts";

/** Deterministic pseudo-random bytes (xorshift), compressible when `text` is set. */
function sample(length: number, seed = 1, text = true): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  const words = ["layer ", "blob ", "sha256 ", "\x1f\x8b\x08", "manifest\n", "\0\0\0\0"];
  let i = 0;
  while (i < length) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    if (text) {
      const w = words[x % words.length];
      for (let j = 0; j < w.length && i < length; j++) out[i++] = w.charCodeAt(j);
    } else {
      out[i++] = x & 0xff;
    }
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A stream of `bytes` cut into chunks whose sizes cycle through `sizes`. */
function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let k = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      const n = sizes[k++ % sizes.length];
      c.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

/** A stream cut exactly at the given offsets (plus 1-byte pieces around each). */
function cutAt(bytes: Uint8Array, offsets: number[]): ReadableStream<Uint8Array> {
  const cuts = new Set<number>();
  for (const o of offsets) for (const d of [-3, -2, -1, 0, 1, 2, 3]) cuts.add(o + d);
  const sorted = [...cuts].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const c of [...sorted, bytes.length]) {
    parts.push(bytes.slice(from, c));
    from = c;
  }
  return ReadableStream.from(parts);
}

async function run(
  stream: ReadableStream<Uint8Array>,
  transform: TransformStream<Uint8Array, Uint8Array>,
): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream.pipeThrough(transform)).arrayBuffer());
}

const gz = (b: Uint8Array, level = 6) => new Uint8Array(zlib.gzipSync(b, { level }));
const zst = (b: Uint8Array) => new Uint8Array(zlib.zstdCompressSync(b));

const CHUNKINGS: [string, number[]][] = [
  ["one chunk", [1 << 30]],
  ["64 KiB chunks", [65536]],
  ["odd chunks", [1, 7, 1000, 3, 65537, 2]],
  ["1-byte chunks", [1]],
];

const small = sample(5000, 3);
const big = sample(600_000, 7);
const random = sample(300_000, 9, false);
const stored = sample(70_000, 11); // level 0 keeps `1f 8b 08` visible in the compressed bytes

const MEMBERS: [string, Uint8Array[]][] = [
  ["a single member", [gz(big)]],
  ["a single stored member containing gzip magic", [gz(stored, 0)]],
  ["three members", [gz(small), gz(big), gz(random, 1)]],
  ["members with stored blocks containing gzip magic", [gz(stored, 0), gz(stored, 0), gz(small)]],
  ["an empty member between others", [gz(small), gz(new Uint8Array(0)), gz(small)]],
  ["a single empty member", [gz(new Uint8Array(0))]],
];

for (const [label, members] of MEMBERS) {
  const input = concat(members);
  const expected = new Uint8Array(zlib.gunzipSync(input));
  const boundaries: number[] = [];
  let at = 0;
  for (const m of members) boundaries.push(at += m.length);

  for (const [chunkLabel, sizes] of CHUNKINGS) {
    if (sizes[0] === 1 && input.length > 200_000) continue;
    Deno.test(`webRuntime.gunzip() decodes ${label} in ${chunkLabel} like the deno runtime`, async () => {
      const web = await run(chunked(input, sizes), webRuntime.gunzip());
      const deno = await run(chunked(input, sizes), denoRuntime.gunzip());
      assertEquals(web.length, expected.length);
      assert(web.every((b, i) => b === expected[i]), "web output differs");
      assertEquals(deno.length, expected.length);
    });
  }
  Deno.test(`webRuntime.gunzip() decodes ${label} cut around every member boundary`, async () => {
    const web = await run(cutAt(input, boundaries), webRuntime.gunzip());
    assertEquals(web.length, expected.length);
    assert(web.every((b, i) => b === expected[i]), "web output differs");
  });
  Deno.test(`fflateGunzip() decodes ${label}`, async () => {
    const out = await run(chunked(input, [65536]), fflateGunzip());
    assertEquals(out.length, expected.length);
    assert(out.every((b, i) => b === expected[i]), "fflate output differs");
  });
}

Deno.test("webRuntime.gunzip() refuses zero padding after the last member, like Go's compress/gzip and the deno runtime", async () => {
  const input = concat([gz(small), gz(big), new Uint8Array(3000)]);
  for (const sizes of [[65536], [1000, 1], [1 << 30]]) {
    for (const decoder of [webRuntime.gunzip(), denoRuntime.gunzip(), fflateGunzip()]) {
      await assertRejects(() => run(chunked(input, sizes), decoder), InvalidInputError);
    }
  }
});

Deno.test("webRuntime.gunzip() rejects bytes after the last member that are not a member", async () => {
  const input = concat([gz(small), new TextEncoder().encode("trailing junk")]);
  await assertRejects(() => run(chunked(input, [65536]), webRuntime.gunzip()), InvalidInputError);
  await assertRejects(() => run(chunked(input, [65536]), denoRuntime.gunzip()));
});

Deno.test("webRuntime.gunzip() rejects a truncated member", async () => {
  const full = gz(big);
  const input = full.subarray(0, full.length - 100);
  await assertRejects(() => run(chunked(input, [4096]), webRuntime.gunzip()), InvalidInputError);
  await assertRejects(() => run(chunked(input, [4096]), denoRuntime.gunzip()));
});

Deno.test("webRuntime.gunzip() rejects a last member whose checksum is wrong", async () => {
  // (Chromium's DecompressionStream also checks every earlier member's CRC32 before its
  // end; Deno's checks it only at the end of the stream. The e2e tests cover Chromium.)
  const bad = gz(small).slice();
  bad[bad.length - 6] ^= 0xff; // CRC32
  await assertRejects(
    () => run(chunked(concat([gz(small), bad]), [65536]), webRuntime.gunzip()),
    InvalidInputError,
  );
  await assertRejects(
    () => run(chunked(concat([gz(small), bad]), [65536]), fflateGunzip()),
    InvalidInputError,
  );
});

Deno.test("webRuntime.gunzip() rejects empty input like the deno runtime", async () => {
  await assertRejects(
    () => run(chunked(new Uint8Array(0), [1]), webRuntime.gunzip()),
    InvalidInputError,
  );
  await assertRejects(() => run(chunked(new Uint8Array(0), [1]), denoRuntime.gunzip()));
});

Deno.test("nativeGunzip() is the DecompressionStream path and agrees with fflate", async () => {
  const input = concat([gz(big), gz(stored, 0)]);
  const a = await run(chunked(input, [4096]), nativeGunzip());
  const b = await run(chunked(input, [4096]), fflateGunzip());
  assertEquals(a, b);
});

Deno.test("webRuntime.zstdDecompress() decodes multi-frame zstd, skippable frames too", async () => {
  // Compared with the frames decoded one by one: Deno's node:zlib zstd stream stops after
  // the first frame, so the deno runtime is not the reference here.
  const frames = [big, small, new Uint8Array(0), random];
  const input = concat(frames.map(zst));
  // A skippable frame in the middle (magic 0x184D2A50, 4-byte length, payload).
  const skip = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
  const withSkip = concat([zst(small), skip, zst(small)]);
  for (const [bytes, expected] of [[input, concat(frames)], [withSkip, concat([small, small])]]) {
    for (const sizes of [[65536], [1, 1000, 17], [1 << 30]]) {
      if (sizes[0] === 1 && bytes.length > 100_000) continue;
      const web = await run(chunked(bytes, sizes), webRuntime.zstdDecompress());
      assertEquals(web.length, expected.length);
      assert(web.every((b, i) => b === expected[i]), "zstd output differs");
    }
  }
});

Deno.test("webRuntime.zstdDecompress() decodes a single frame like the deno runtime", async () => {
  const bytes = zst(big);
  const web = await run(chunked(bytes, [4096]), webRuntime.zstdDecompress());
  const deno = await run(chunked(bytes, [4096]), denoRuntime.zstdDecompress());
  assertEquals(web, deno);
});

Deno.test("webRuntime.zstdDecompress() rejects a truncated frame", async () => {
  const full = zst(big);
  await assertRejects(
    () => run(chunked(full.subarray(0, full.length - 10), [4096]), fzstdDecompress()),
    InvalidInputError,
  );
});

Deno.test("webRuntime.createHasher() gives the deno runtime's sha256 and sha512", async () => {
  for (const bytes of [new Uint8Array(0), small, random]) {
    for (const alg of ["sha256", "sha512"] as const) {
      const w = await webRuntime.createHasher(alg);
      const d = await denoRuntime.createHasher(alg);
      for (let i = 0; i < bytes.length; i += 7777) {
        w.update(bytes.subarray(i, i + 7777));
        d.update(bytes.subarray(i, i + 7777));
      }
      if (bytes.length === 0) {
        w.update(bytes);
        d.update(bytes);
      }
      assertEquals(w.digest(), d.digest());
    }
  }
});

Deno.test("webRuntime.gzip() output decodes with the deno runtime, at every level", async () => {
  for (const level of [undefined, 1, 6, 9]) {
    const packed = await run(chunked(big, [65536]), webRuntime.gzip(level));
    assertEquals(new Uint8Array(zlib.gunzipSync(packed)), big);
  }
  const viaFflate = await run(chunked(small, [100]), fflateGzip(1));
  assertEquals(await run(chunked(viaFflate, [7]), denoRuntime.gunzip()), small);
});
