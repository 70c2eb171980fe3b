import { largeChunks } from "../src/streams.ts";
import { assertEquals } from "./assert.ts";
import { withTempDir } from "./export/_support.ts";

Deno.test("largeChunks() reads a file's byte stream in large chunks; fresh chunks may be kept", async () => {
  await withTempDir(async (dir) => {
    const bytes = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => i % 251);
    await Deno.writeFile(`${dir}/f`, bytes);
    const kept: Uint8Array[] = [];
    for await (const c of largeChunks((await Deno.open(`${dir}/f`)).readable, { fresh: true })) {
      kept.push(c);
    }
    assertEquals(kept.length >= 4 && kept.length <= 8, true, `${kept.length} chunks`);
    const joined = new Uint8Array(await new Blob(kept as Uint8Array<ArrayBuffer>[]).arrayBuffer());
    assertEquals(joined, bytes);
    let n = 0;
    let sum = 0;
    for await (const c of largeChunks((await Deno.open(`${dir}/f`)).readable)) {
      n += c.byteLength;
      for (let i = 0; i < c.length; i += 4096) sum += c[i];
    }
    assertEquals(n, bytes.byteLength);
    let expected = 0;
    let at = 0;
    for await (const c of largeChunks((await Deno.open(`${dir}/f`)).readable, { fresh: true })) {
      for (let i = 0; i < c.length; i += 4096) expected += c[i];
      at += c.length;
    }
    assertEquals([sum, at], [expected, n]);
  });
});

Deno.test("largeChunks() passes other streams through and cancels the source when stopped early", async () => {
  const chunks = [new Uint8Array([1]), new Uint8Array([2, 3])];
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      const next = chunks.shift();
      if (next) c.enqueue(next);
      else c.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const c of largeChunks(stream)) {
    assertEquals(c, new Uint8Array([1]));
    break;
  }
  assertEquals(cancelled, true);
});

Deno.test("largeChunks() with readAhead keeps each reused chunk intact for buffers - readAhead - 1 more chunks", async () => {
  await withTempDir(async (dir) => {
    const bytes = new Uint8Array(12 * 1024 * 1024 + 99).map((_, i) => (i * 31 + (i >> 20)) % 251);
    await Deno.writeFile(`${dir}/f`, bytes);
    const held: { chunk: Uint8Array; at: number; copy: Uint8Array }[] = [];
    let at = 0;
    const stream = (await Deno.open(`${dir}/f`)).readable;
    for await (const c of largeChunks(stream, { buffers: 6, readAhead: 1 })) {
      held.push({ chunk: c, at, copy: c.slice() });
      at += c.byteLength;
      // The last 4 chunks yielded before this one must still hold their bytes.
      for (const h of held.slice(-5)) {
        assertEquals(h.chunk, h.copy, `chunk at ${h.at} changed while still valid`);
      }
    }
    assertEquals(at, bytes.byteLength);
    const joined = new Uint8Array(
      await new Blob(held.map((h) => h.copy as Uint8Array<ArrayBuffer>)).arrayBuffer(),
    );
    assertEquals(joined, bytes);
  });
});
