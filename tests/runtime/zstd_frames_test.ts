import { assertEquals, assertRejects } from "../assert.ts";
import { zstdCompressSync } from "node:zlib";
import { denoRuntime } from "../../src/runtime/deno.ts";
import { webRuntime } from "../../src/runtime/web.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { concatBytes } from "../../src/streams.ts";

const text = (s: string) => new TextEncoder().encode(s);
const skippable = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);

function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.byteLength) return c.close();
      c.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function decode(rt: typeof denoRuntime, bytes: Uint8Array, size: number): Promise<string> {
  const out: Uint8Array[] = [];
  for await (const c of chunked(bytes, size).pipeThrough(rt.zstdDecompress())) out.push(c);
  return new TextDecoder().decode(concatBytes(out));
}

for (const rt of [denoRuntime, webRuntime]) {
  Deno.test(`${rt.name} zstdDecompress() reads every frame of a multi-frame stream, with skippable frames, in any chunking`, async () => {
    const a = new Uint8Array(zstdCompressSync(text("first frame ".repeat(5000))));
    const b = new Uint8Array(zstdCompressSync(text("second ".repeat(3000))));
    const stream = concatBytes([a, skippable, b, a]);
    const want = "first frame ".repeat(5000) + "second ".repeat(3000) + "first frame ".repeat(5000);
    for (const size of [1, 7, 4096, stream.byteLength]) {
      assertEquals(await decode(rt, stream, size), want, `chunks of ${size}`);
    }
  });
}

Deno.test("deno zstdDecompress() refuses a stream cut inside a frame", async () => {
  const a = new Uint8Array(zstdCompressSync(text("x".repeat(10000))));
  await assertRejects(
    () => decode(denoRuntime, a.slice(0, a.byteLength - 3), 100),
    InvalidInputError,
    "truncated",
  );
});
