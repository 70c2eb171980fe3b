/** Blob bodies: large reads over byte streams, plain reads otherwise. */
import { assertEquals } from "../assert.ts";
import { bodyReader, resumableBody } from "../../src/registry/blob_body.ts";
import { largeChunks } from "../../src/streams.ts";

function pieces(n: number, size: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array(size).fill(i));
}

async function readAll(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }) {
  const out: Uint8Array[] = [];
  for (;;) {
    const r = await reader.read();
    if (r.done) return out;
    out.push(r.value!);
  }
}

function joined(chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(chunks.flatMap((c) => [...c]));
}

Deno.test("bodyReader() takes everything a byte stream has queued in one read, up to 1 MiB, and hands on pieces of exactly that size", async () => {
  const sent = pieces(80, 16 * 1024); // 1.25 MiB in 16 KiB pieces, all queued
  const body = new ReadableStream<Uint8Array>({
    type: "bytes",
    start(c) {
      for (const p of sent) c.enqueue(p.slice());
      c.close();
    },
  });
  const got = await readAll(bodyReader(body, 80 * 16 * 1024));
  assertEquals(got.map((c) => c.byteLength), [1 << 20, 256 * 1024]);
  assertEquals(joined(got), joined(sent));
  // Each piece owns exactly its bytes (a consumer that keeps pieces keeps no 1 MiB buffers).
  assertEquals(got.map((c) => c.buffer.byteLength), [1 << 20, 256 * 1024]);
});

Deno.test("bodyReader() reads a body that is not a byte stream as it comes", async () => {
  const sent = pieces(3, 1000);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of sent) c.enqueue(p);
      c.close();
    },
  });
  const got = await readAll(bodyReader(body, 3000));
  assertEquals(got.map((c) => c.byteLength), [1000, 1000, 1000]);
  assertEquals(joined(got), joined(sent));
});

/** A byte stream that sends `data` in pieces of `piece` bytes, each when asked. */
function byteBody(data: Uint8Array, piece: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    type: "bytes",
    pull(c: ReadableByteStreamController) {
      if (at >= data.byteLength) {
        c.close();
        c.byobRequest?.respond(0);
        return;
      }
      c.enqueue(data.slice(at, at + piece));
      at += piece;
    },
  });
}

Deno.test("resumableBody() reads a body straight into a BYOB consumer's buffer, and resumes a cut body from where it stopped", async () => {
  const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
  const opened: number[] = [];
  const body = await resumableBody((from) => {
    opened.push(from);
    // The first body is cut after 100 000 bytes; the second ignores Range (sends everything).
    const bytes = opened.length === 1 ? data.subarray(0, 100_000) : data;
    const skip = opened.length === 1 ? 0 : from;
    return Promise.resolve(bodyReader(byteBody(bytes, 40_000), bytes.byteLength, skip));
  }, { size: data.byteLength, offset: 0, maxResumes: 2, idleMs: 5000, what: "fetch blob x" });
  const buffers = new Set<number>();
  const got: number[] = [];
  for await (const chunk of largeChunks(body, { size: 64 * 1024 })) {
    buffers.add(chunk.buffer.byteLength);
    got.push(...chunk);
  }
  assertEquals(opened, [0, 100_000]);
  assertEquals(new Uint8Array(got), data);
  assertEquals([...buffers], [64 * 1024], "every piece arrived in the consumer's own buffer");
});

Deno.test("resumableBody() gives a default reader pieces of their own", async () => {
  const data = new Uint8Array(200_000).fill(9);
  const body = await resumableBody(
    () => Promise.resolve(bodyReader(byteBody(data, 50_000), data.byteLength)),
    { size: data.byteLength, offset: 0, maxResumes: 0, idleMs: 5000, what: "fetch blob x" },
  );
  const chunks = await Array.fromAsync(body);
  assertEquals(joined(chunks), data);
  for (const c of chunks) assertEquals(c.buffer.byteLength, c.byteLength);
});
