import { assertEquals, assertRejects } from "../assert.ts";
import { gzipSync } from "node:zlib";
import { indexingGunzip } from "../../src/deno/gzip_index.ts";
import { inflateFrom } from "../../src/layers/gzip_access.ts";
import { InvalidInputError } from "../../src/errors.ts";

/** Text and noise mixed, so that deflate makes blocks of every kind and size. */
function sample(size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = 88172645;
  const words = new TextEncoder().encode("layer member whiteout opaque digest manifest ");
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (i >> 16) % 3 === 0 ? x & 0xff : words[(i + (x & 3)) % words.length];
  }
  return out;
}

async function decodeAll(gz: Uint8Array, spacing?: number, piece = 65536) {
  const decoder = indexingGunzip({ spacing });
  const input = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < gz.byteLength; i += piece) c.enqueue(gz.slice(i, i + piece));
      c.close();
    },
  });
  const [out] = await Promise.all([
    new Response(decoder.readable).arrayBuffer(),
    input.pipeTo(decoder.writable),
  ]);
  return { out: new Uint8Array(out), points: decoder.points(), members: decoder.members() };
}

Deno.test("indexingGunzip() decodes like gunzip and every access point restarts the stream exactly there", async () => {
  const data = sample(6_000_000);
  const gz = new Uint8Array(gzipSync(data));
  for (const piece of [1000, 65536]) {
    const { out, points, members } = await decodeAll(gz, 250_000, piece);
    assertEquals(out.byteLength, data.byteLength);
    assertEquals(out, data);
    assertEquals(members, 1);
    // About one point per 250 kB (at the next block boundary that falls on a byte).
    assertEquals(points.length > 10, true, `${points.length} points`);
    if (piece !== 65536) continue;
    for (const p of points) {
      const from = inflateFrom(p, new Blob([gz.slice(p.start)]).stream(), {
        end: gz.byteLength - 8,
      });
      const got = new Uint8Array(await new Response(from).arrayBuffer());
      assertEquals(got.byteLength, data.byteLength - p.out);
      assertEquals(got.subarray(0, 4096), data.subarray(p.out, p.out + 4096));
      assertEquals(got.subarray(got.byteLength - 100), data.subarray(data.byteLength - 100));
    }
  }
});

Deno.test("indexingGunzip() reads multi-member gzip and refuses corrupt, truncated and trailing data", async () => {
  const a = sample(300_000);
  const b = sample(200_000).reverse();
  const two = new Uint8Array([...gzipSync(a), ...gzipSync(b)]);
  const { out, members } = await decodeAll(two);
  assertEquals(out, new Uint8Array([...a, ...b]));
  assertEquals(members, 2);
  const gz = new Uint8Array(gzipSync(a));
  const badCrc = gz.slice();
  badCrc[badCrc.byteLength - 8] ^= 1;
  await assertRejects(() => decodeAll(badCrc), InvalidInputError, "CRC");
  await assertRejects(() => decodeAll(gz.subarray(0, gz.byteLength - 3)), InvalidInputError);
  await assertRejects(() => decodeAll(gz.subarray(0, 5000)), InvalidInputError);
  await assertRejects(
    () => decodeAll(new Uint8Array([...gz, 1, 2, 3])),
    InvalidInputError,
    "trailing",
  );
  const flipped = gz.slice();
  for (let i = 100; i < 140; i++) flipped[i] ^= 0x55;
  await assertRejects(() => decodeAll(flipped), InvalidInputError, "corrupt");
});
