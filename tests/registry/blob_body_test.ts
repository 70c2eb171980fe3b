/** Blob bodies: large reads over byte streams, plain reads otherwise. */
import { assertEquals } from "../assert.ts";
import { largeReads } from "../../src/registry/blob_body.ts";

function pieces(n: number, size: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array(size).fill(i));
}

async function readAll(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (;;) {
    const r = await reader.read();
    if (r.done) return out;
    out.push(r.value);
  }
}

function joined(chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(chunks.flatMap((c) => [...c]));
}

Deno.test("largeReads() takes everything a byte stream has queued in one read, up to 1 MiB, and hands on pieces of exactly that size", async () => {
  const sent = pieces(80, 16 * 1024); // 1.25 MiB in 16 KiB pieces, all queued
  const body = new ReadableStream<Uint8Array>({
    type: "bytes",
    start(c) {
      for (const p of sent) c.enqueue(p.slice());
      c.close();
    },
  });
  const got = await readAll(largeReads(body, 80 * 16 * 1024));
  assertEquals(got.map((c) => c.byteLength), [1 << 20, 256 * 1024]);
  assertEquals(joined(got), joined(sent));
  // Each piece owns exactly its bytes (a consumer that keeps pieces keeps no 1 MiB buffers).
  assertEquals(got.map((c) => c.buffer.byteLength), [1 << 20, 256 * 1024]);
});

Deno.test("largeReads() reads a body that is not a byte stream as it comes", async () => {
  const sent = pieces(3, 1000);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of sent) c.enqueue(p);
      c.close();
    },
  });
  const got = await readAll(largeReads(body, 3000));
  assertEquals(got.map((c) => c.byteLength), [1000, 1000, 1000]);
  assertEquals(joined(got), joined(sent));
});
