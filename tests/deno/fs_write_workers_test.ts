/**
 * The fs store's large-blob writes carried out by worker threads (`fsWriteWorkers`): the
 * store's ingest contract holds as for writes in the calling thread — verified before
 * visible, a mismatch refused naming the blob with nothing left behind, partial writes kept
 * for resuming and continued, bounded segments in flight.
 */
import { digestBytes } from "../../src/digest.ts";
import { DigestMismatchError, IoError, SizeMismatchError } from "../../src/errors.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import { type FsStore, openFsStore } from "../../src/store/fs.ts";
import { fsWriteWorkers } from "../../src/deno/fs_write_workers.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { patternBytes } from "../store/suite.ts";

type Workers = ReturnType<typeof fsWriteWorkers>;

async function withStore(
  fn: (store: FsStore, workers: Workers, dir: string) => Promise<void>,
  options: { workers?: number; minBytes?: number } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "lading-fs-write-workers-" });
  const workers = fsWriteWorkers({
    workers: options.workers ?? 1,
    minBytes: options.minBytes ?? 0,
  });
  try {
    await fn(await openFsStore(dir, { writeOffload: workers }), workers, dir);
  } finally {
    workers.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const sha256 = async (bytes: Uint8Array) => await digestBytes(await getRuntime(), bytes);

async function entries(path: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(path)).catch(() => [])).map((e) => e.name).sort();
}

/** Writes `bytes` in pieces of `piece` bytes. */
async function writeIn(
  writer: { write(c: Uint8Array): Promise<void> },
  bytes: Uint8Array,
  piece: number,
) {
  // One reused buffer, as a pull reads: the writer must copy before its write settles.
  const buffer = new Uint8Array(piece);
  for (let at = 0; at < bytes.byteLength; at += piece) {
    const n = Math.min(piece, bytes.byteLength - at);
    buffer.set(bytes.subarray(at, at + n));
    await writer.write(buffer.subarray(0, n));
    buffer.fill(0xee); // scribbling over the buffer must not change what was written
  }
}

Deno.test("a large write goes to a worker thread and commits the same verified blob a write in this thread makes", async () => {
  await withStore(async (store, workers) => {
    const bytes = patternBytes(3 * 1024 * 1024 + 12_345, 3);
    const digest = await sha256(bytes);
    const writer = await store.writer({ size: bytes.byteLength });
    assertEquals(workers.workersRunning, 1, "the worker started for this write");
    await writeIn(writer, bytes, 200_000);
    assertEquals(await writer.commit({ digest, size: bytes.byteLength }), { added: true });
    assertEquals(await Deno.readFile(store.blobFile(digest)), bytes);
    assertEquals((await Deno.stat(store.blobFile(digest))).mode! & 0o777, 0o444);
    assertEquals(await entries(`${store.dir}/ingest`), [], "nothing left in ingest/");
  });
});

Deno.test("writes below minBytes, or of unknown size, stay in the calling thread", async () => {
  await withStore(async (store, workers) => {
    const bytes = patternBytes(5000, 1);
    for (const size of [5000, undefined]) {
      const writer = await store.writer({ size });
      await writer.write(bytes);
      await writer.commit({ digest: await sha256(bytes), size: 5000 });
    }
    assertEquals(workers.workersRunning, 0);
  }, { minBytes: 8 * 1024 * 1024 });
});

Deno.test("a worker's write whose bytes do not match the digest is refused naming the blob, and nothing is visible or left behind", async () => {
  await withStore(async (store) => {
    const bytes = patternBytes(2 * 1024 * 1024, 5);
    const digest = await sha256(bytes);
    const wrong = bytes.slice();
    wrong[1_000_000] ^= 1;
    const writer = await store.writer({ size: bytes.byteLength, resume: digest });
    await writeIn(writer, wrong, 65536);
    const e = await assertRejects(
      () => writer.commit({ digest, size: bytes.byteLength }),
      DigestMismatchError,
    );
    assert(e.message.includes(digest), e.message);
    await writer.abort({ discard: true });
    assertEquals(await store.has(digest), false);
    assertEquals(await entries(`${store.dir}/ingest`), []);
    // A size that does not match is refused too.
    const short = await store.writer({ size: bytes.byteLength });
    await writeIn(short, bytes.subarray(0, 1_500_000), 65536);
    await assertRejects(
      () => short.commit({ digest, size: bytes.byteLength }),
      SizeMismatchError,
    );
    assertEquals(await store.has(digest), false);
    assertEquals(await entries(`${store.dir}/ingest`), []);
  });
});

Deno.test("a worker's resumable write that breaks off keeps every byte it was given, and the next write continues it (hashed by a worker)", async () => {
  await withStore(async (store, workers) => {
    const bytes = patternBytes(3 * 1024 * 1024 + 7, 8);
    const digest = await sha256(bytes);
    const first = await store.writer({ size: bytes.byteLength, resume: digest });
    assertEquals(first.offset ?? 0, 0);
    // 1.5 MiB: the last half segment has not reached the worker yet when the write breaks off.
    await writeIn(first, bytes.subarray(0, 1_572_864 + 1000), 100_000);
    await first.abort();
    const kept = await entries(`${store.dir}/ingest`);
    assertEquals(kept, [`r-sha256-${digest.slice(7)}`]);
    assertEquals(
      await Deno.readFile(`${store.dir}/ingest/${kept[0]}`),
      bytes.subarray(0, 1_572_864 + 1000),
    );

    const second = await store.writer({ size: bytes.byteLength, resume: digest });
    assertEquals(second.offset, 1_572_864 + 1000, "continues after what was kept");
    await writeIn(second, bytes.subarray(second.offset), 300_000);
    assertEquals(await second.commit({ digest, size: bytes.byteLength }), { added: true });
    assertEquals(await Deno.readFile(store.blobFile(digest)), bytes);
    assertEquals(await entries(`${store.dir}/ingest`), []);
    assertEquals(workers.workersRunning, 1);
  });
});

Deno.test("large writes are spread over the workers: an idle one, else a new one, else the one with the fewest bytes still to write", async () => {
  await withStore(async (store, workers) => {
    const sizes = [4_000_000, 3_000_000, 2_000_000];
    const writers = [];
    for (const size of sizes) writers.push(await store.writer({ size }));
    assertEquals(workers.workersRunning, 2, "a second worker while the first is busy, no third");
    for (const [i, w] of writers.entries()) {
      const bytes = patternBytes(sizes[i], i);
      await writeIn(w, bytes, 1 << 20);
      assertEquals(await w.commit({ digest: await sha256(bytes), size: sizes[i] }), {
        added: true,
      });
    }
    assertEquals(workers.workersRunning, 2);
  }, { workers: 2 });
});

Deno.test("when the workers are closed during a write, the write fails with a clear error and nothing becomes visible", async () => {
  await withStore(async (store, workers) => {
    const bytes = patternBytes(2 * 1024 * 1024, 2);
    const digest = await sha256(bytes);
    const writer = await store.writer({ size: bytes.byteLength });
    await writeIn(writer, bytes.subarray(0, 1_000_000), 100_000);
    workers.close();
    const e = await assertRejects(async () => {
      await writeIn(writer, bytes.subarray(1_000_000), 100_000);
      await writer.commit({ digest, size: bytes.byteLength });
    }, IoError);
    assert(/worker/.test(e.message), e.message);
    await writer.abort();
    assertEquals(await store.has(digest), false);
    assertEquals(await entries(`${store.dir}/ingest`), []);
    // Later writes go on in the calling thread.
    const again = await store.writer({ size: bytes.byteLength });
    await writeIn(again, bytes, 1 << 20);
    assertEquals(await again.commit({ digest, size: bytes.byteLength }), { added: true });
  });
});
