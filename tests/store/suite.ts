// This module is browser compatible.
/**
 * One conformance suite for every {@link Store} (memory, fs, OPFS): the cases only use the
 * Store interface, and the test registration function is injectable so the suite also runs
 * in a browser.
 *
 * @example
 * ```ts ignore
 * import { storeConformance } from "./suite.ts";
 * import { MemoryStore } from "../../src/store/memory.ts";
 * storeConformance("MemoryStore", () =>
 *   Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() }));
 * ```
 * @module
 */
import { type Digest, type DigestAlgorithm, digestBytes } from "../../src/digest.ts";
import {
  DigestMismatchError,
  InvalidInputError,
  NotFoundError,
  SizeMismatchError,
} from "../../src/errors.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import { writeBlob } from "../../src/store/blob.ts";
import type { BlobInfo, ImageRecord, Store } from "../../src/store/types.ts";
import type { Descriptor } from "../../src/types.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";

/** Registers one test case (`Deno.test`-like). */
export type TestRegistrar = (name: string, fn: () => Promise<void>) => void;

/** A fresh store for one case, and how to remove it afterwards. */
export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/** Options for {@link storeConformance}. */
export interface ConformanceOptions {
  /** Registers a case; default `globalThis.Deno.test`. */
  test?: TestRegistrar;
}

function defaultRegistrar(): TestRegistrar {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  if (typeof deno?.test !== "function") {
    throw new TypeError("storeConformance() needs options.test outside Deno");
  }
  return (name, fn) => deno.test(name, fn);
}

const encoder = new TextEncoder();
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/** Deterministic pseudo-random bytes. */
export function patternBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

async function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): Promise<Digest> {
  return digestBytes(await getRuntime(), bytes, { algorithm });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

async function listAll(store: Store): Promise<BlobInfo[]> {
  const all: BlobInfo[] = [];
  for await (const info of store.list()) all.push({ digest: info.digest, size: info.size });
  return all.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

async function put(store: Store, bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256") {
  const digest = await digestOf(bytes, algorithm);
  const result = await writeBlob(store, bytes, { digest, size: bytes.byteLength });
  return { digest, ...result };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function descriptor(seed: number, extra: Partial<Descriptor> = {}): Descriptor {
  const hex = Array.from(patternBytes(32, seed), (b) => b.toString(16).padStart(2, "0")).join("");
  return { mediaType: OCI_MANIFEST, digest: `sha256:${hex}`, size: 100 + seed, ...extra };
}

const BAD_DIGESTS = [
  "sha256:../../x",
  `sha256:../../${"a".repeat(58)}`,
  `sha256:${"A".repeat(64)}`,
  `sha256:${"a".repeat(63)}`,
  `sha256:${"a".repeat(65)}`,
  `sha512:${"a".repeat(64)}`,
  "md5:d41d8cd98f00b204e9800998ecf8427e",
  "",
  "sha256",
  `sha256:${"a".repeat(62)}/x`,
  `SHA256:${"a".repeat(64)}`,
];

/**
 * Registers the store conformance cases, each named `${name}: …`. `makeStore` is called
 * once per case; the case closes the store and calls `cleanup` at the end.
 */
export function storeConformance(
  name: string,
  makeStore: StoreFactory,
  options: ConformanceOptions = {},
): void {
  const register = options.test ?? defaultRegistrar();
  const test = (title: string, fn: (store: Store) => Promise<void>) =>
    register(`${name}: ${title}`, async () => {
      const { store, cleanup } = await makeStore();
      try {
        await fn(store);
      } finally {
        await store.close();
        await cleanup();
      }
    });

  // ----- blobs -----

  test("a new store has no blobs and no names", async (store) => {
    assertEquals(await listAll(store), []);
    assertEquals(await store.listImages(), []);
    assertEquals((await store.leasedDigests()).size, 0);
  });

  test("writer() + commit() makes a blob visible to has(), info(), reader() and list()", async (store) => {
    const bytes = patternBytes(1000);
    const digest = await digestOf(bytes);
    assertEquals(await store.has(digest), false);
    const writer = await store.writer();
    await writer.write(bytes.subarray(0, 10));
    await writer.write(bytes.subarray(10, 10));
    await writer.write(bytes.subarray(10));
    assertEquals(await store.has(digest), false, "visible before commit");
    assertEquals(await writer.commit({ digest, size: 1000 }), { added: true });
    assertEquals(await store.has(digest), true);
    assertEquals(await store.info(digest), { digest, size: 1000 });
    assertEquals(await readAll(await store.reader(digest)), bytes);
    assertEquals(await listAll(store), [{ digest, size: 1000 }]);
  });

  test("an empty blob round-trips", async (store) => {
    const { digest, added } = await put(store, new Uint8Array(0));
    assertEquals(
      digest,
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    assert(added);
    assertEquals(await store.info(digest), { digest, size: 0 });
    assertEquals(await readAll(await store.reader(digest)), new Uint8Array(0));
  });

  test("reader() with an offset streams the rest of the blob", async (store) => {
    const bytes = patternBytes(5000, 2);
    const { digest } = await put(store, bytes);
    assertEquals(await readAll(await store.reader(digest, { offset: 0 })), bytes);
    assertEquals(await readAll(await store.reader(digest, { offset: 1234 })), bytes.subarray(1234));
    assertEquals(await readAll(await store.reader(digest, { offset: 4999 })), bytes.subarray(4999));
    assertEquals(await readAll(await store.reader(digest, { offset: 5000 })), new Uint8Array(0));
  });

  test("a multi-megabyte blob written in many chunks reads back identical", async (store) => {
    const bytes = patternBytes(3 * 1024 * 1024 + 17, 3);
    const digest = await digestOf(bytes);
    const writer = await store.writer();
    for (let at = 0; at < bytes.byteLength; at += 65_537) {
      await writer.write(bytes.slice(at, at + 65_537));
    }
    assertEquals(await writer.commit({ digest, size: bytes.byteLength }), { added: true });
    const back = await readAll(await store.reader(digest));
    assertEquals(back.byteLength, bytes.byteLength);
    assertEquals(await digestOf(back), digest);
    assertEquals(
      await readAll(await store.reader(digest, { offset: 2 * 1024 * 1024 })),
      bytes.subarray(2 * 1024 * 1024),
    );
  });

  test("two writers in flight at once both commit", async (store) => {
    const a = patternBytes(200_000, 4);
    const b = patternBytes(300_000, 5);
    const [da, db] = [await digestOf(a), await digestOf(b)];
    const [wa, wb] = [await store.writer(), await store.writer()];
    for (let at = 0; at < 300_000; at += 50_000) {
      if (at < a.byteLength) await wa.write(a.subarray(at, at + 50_000));
      await wb.write(b.subarray(at, at + 50_000));
    }
    const results = await Promise.all([
      wa.commit({ digest: da, size: a.byteLength }),
      wb.commit({ digest: db, size: b.byteLength }),
    ]);
    assertEquals(results, [{ added: true }, { added: true }]);
    assertEquals(await readAll(await store.reader(da)), a);
    assertEquals(await readAll(await store.reader(db)), b);
  });

  test("commit() refuses too few bytes with SizeMismatchError and leaves nothing visible", async (store) => {
    const existing = await put(store, encoder.encode("existing"));
    const before = await listAll(store);
    const bytes = patternBytes(1042, 6);
    const digest = await digestOf(bytes);
    const writer = await store.writer();
    await writer.write(bytes.subarray(0, 1041));
    const e = await assertRejects(
      () => writer.commit({ digest, size: 1042 }),
      SizeMismatchError,
      "1041",
    );
    assertEquals([e.expected, e.actual], [1042, 1041]);
    await writer.abort();
    assertEquals(await store.has(digest), false);
    assertEquals(await listAll(store), before);
    assert(await store.has(existing.digest));
  });

  test("commit() refuses too many bytes with SizeMismatchError and leaves nothing visible", async (store) => {
    const before = await listAll(store);
    const bytes = patternBytes(1043, 7);
    const digest = await digestOf(bytes.subarray(0, 1042));
    const writer = await store.writer();
    await writer.write(bytes);
    const e = await assertRejects(
      () => writer.commit({ digest, size: 1042 }),
      SizeMismatchError,
      "descriptor says 1042",
    );
    assertStringIncludes(e.message, "1043");
    assertEquals(await store.has(digest), false);
    assertEquals(await listAll(store), before);
  });

  test("commit() refuses bytes whose digest differs and leaves nothing visible", async (store) => {
    await put(store, encoder.encode("a blob that was there before"));
    const before = await listAll(store);
    const bytes = patternBytes(4096, 8);
    const claimed = await digestOf(patternBytes(4096, 9));
    const writer = await store.writer();
    await writer.write(bytes);
    const e = await assertRejects(
      () => writer.commit({ digest: claimed, size: 4096 }),
      DigestMismatchError,
      claimed,
    );
    assertEquals(e.expected, claimed);
    assertEquals(e.actual, await digestOf(bytes));
    await writer.abort();
    assertEquals(await store.has(claimed), false);
    assertEquals(await store.has(await digestOf(bytes)), false);
    assertEquals(await listAll(store), before);
    // The right bytes can still be written under that digest afterwards.
    assertEquals((await put(store, patternBytes(4096, 9))).added, true);
  });

  test("writeBlob() with a wrong digest leaves the store unchanged", async (store) => {
    const before = await listAll(store);
    const bytes = encoder.encode("hello");
    await assertRejects(
      () => writeBlob(store, bytes, { digest: `sha256:${"0".repeat(64)}`, size: 5 }),
      DigestMismatchError,
    );
    assertEquals(await listAll(store), before);
  });

  test("commit() of a blob already present returns added: false and keeps one copy", async (store) => {
    const bytes = patternBytes(777, 10);
    const first = await put(store, bytes);
    assertEquals(first.added, true);
    const second = await put(store, bytes);
    assertEquals(second.added, false);
    assertEquals(await listAll(store), [{ digest: first.digest, size: 777 }]);
    assertEquals(await readAll(await store.reader(first.digest)), bytes);
  });

  test("sha512 digests are verified, stored and read back", async (store) => {
    const bytes = patternBytes(70_000, 11);
    const digest = await digestOf(bytes, "sha512");
    assert(digest.startsWith("sha512:"));
    const { added } = await writeBlob(store, bytes, { digest, size: bytes.byteLength });
    assert(added);
    assertEquals(await store.has(digest), true);
    assertEquals(await store.info(digest), { digest, size: 70_000 });
    assertEquals(await readAll(await store.reader(digest, { offset: 10 })), bytes.subarray(10));
    assertEquals(await listAll(store), [{ digest, size: 70_000 }]);
    // The same bytes under sha256 are a different blob.
    const sha256 = await put(store, bytes);
    assertEquals(sha256.added, true);
    assertEquals((await listAll(store)).length, 2);
    // A wrong sha512 digest is refused.
    const wrong = await digestOf(patternBytes(70_000, 12), "sha512");
    await assertRejects(
      () => writeBlob(store, bytes, { digest: wrong, size: bytes.byteLength }),
      DigestMismatchError,
    );
    assertEquals(await store.has(wrong), false);
    await store.delete(digest);
    assertEquals(await store.has(digest), false);
  });

  test("invalid digest strings are rejected with InvalidInputError before anything is touched", async (store) => {
    const kept = await put(store, encoder.encode("keep me"));
    await store.putImages([{ name: "example.com/kept:1", target: descriptor(1) }]);
    const before = await listAll(store);
    for (const bad of BAD_DIGESTS) {
      const d = bad as Digest;
      await assertRejects(() => store.has(d), InvalidInputError);
      await assertRejects(() => store.info(d), InvalidInputError);
      await assertRejects(() => store.reader(d), InvalidInputError);
      await assertRejects(() => store.delete(d), InvalidInputError);
      const writer = await store.writer();
      await writer.write(encoder.encode("keep me"));
      await assertRejects(() => writer.commit({ digest: bad, size: 7 }), InvalidInputError);
      await writer.abort();
      await assertRejects(
        () => writeBlob(store, encoder.encode("keep me"), { digest: bad, size: 7 }),
        InvalidInputError,
      );
    }
    assertEquals(await listAll(store), before);
    assert(await store.has(kept.digest));
    assertEquals((await store.listImages()).map((r) => r.name), ["example.com/kept:1"]);
  });

  test("abort() discards the write; the writer refuses further use", async (store) => {
    const bytes = patternBytes(2048, 13);
    const digest = await digestOf(bytes);
    const writer = await store.writer();
    await writer.write(bytes);
    await writer.abort();
    await writer.abort(); // twice is fine
    assertEquals(await store.has(digest), false);
    assertEquals(await listAll(store), []);
    await assertRejects(() => writer.write(bytes), TypeError);
    await assertRejects(() => writer.commit({ digest, size: 2048 }), TypeError);
    assertEquals(await listAll(store), []);
  });

  test("abort() after commit() does nothing; write() after commit() is refused", async (store) => {
    const bytes = patternBytes(100, 14);
    const digest = await digestOf(bytes);
    const writer = await store.writer();
    await writer.write(bytes);
    await writer.commit({ digest, size: 100 });
    await writer.abort();
    assertEquals(await store.has(digest), true);
    assertEquals(await readAll(await store.reader(digest)), bytes);
    await assertRejects(() => writer.write(bytes), TypeError);
    await assertRejects(() => writer.commit({ digest, size: 100 }), TypeError);
  });

  test("delete() removes a blob, which can be written again", async (store) => {
    const a = await put(store, encoder.encode("a"));
    const b = await put(store, encoder.encode("b"));
    await store.delete(a.digest);
    assertEquals(await store.has(a.digest), false);
    assertEquals((await listAll(store)).map((i) => i.digest), [b.digest]);
    assertEquals((await put(store, encoder.encode("a"))).added, true);
    assertEquals(await store.has(a.digest), true);
  });

  test("info(), reader() and delete() of a missing blob throw NotFoundError", async (store) => {
    const missing = await digestOf(encoder.encode("never written"));
    assertEquals(await store.has(missing), false);
    await assertRejects(() => store.info(missing), NotFoundError);
    await assertRejects(() => store.reader(missing), NotFoundError);
    await assertRejects(() => store.delete(missing), NotFoundError);
  });

  test("list() reports every committed blob with its size", async (store) => {
    const expected: BlobInfo[] = [];
    for (let i = 0; i < 20; i++) {
      const bytes = patternBytes(i * 10, 100 + i);
      const { digest } = await put(store, bytes, i % 5 === 0 ? "sha512" : "sha256");
      expected.push({ digest, size: bytes.byteLength });
    }
    expected.sort((a, b) => (a.digest < b.digest ? -1 : 1));
    assertEquals(await listAll(store), expected);
  });

  // ----- names -----

  test("putImages() records names that getImage() and listImages() (sorted) return", async (store) => {
    const records: ImageRecord[] = [
      { name: "docker.io/library/zeta:1", target: descriptor(1) },
      {
        name: "docker.io/library/alpha:latest",
        target: descriptor(2, {
          mediaType: OCI_INDEX,
          annotations: { "org.example.note": "kept" },
        }),
      },
      { name: "localhost:5000/mid@sha256:" + "1".repeat(64), target: descriptor(3) },
    ];
    await store.putImages(records);
    assertEquals(await store.getImage(records[0].name), records[0]);
    assertEquals(await store.getImage(records[1].name), records[1]);
    assertEquals(await store.getImage(records[2].name), records[2]);
    assertEquals((await store.listImages()).map((r) => r.name), [
      "docker.io/library/alpha:latest",
      "docker.io/library/zeta:1",
      "localhost:5000/mid@sha256:" + "1".repeat(64),
    ]);
  });

  test("a descriptor with platform, urls, artifactType and annotations round-trips", async (store) => {
    const target = descriptor(4, {
      platform: { architecture: "arm64", os: "linux", variant: "v8" },
      urls: ["https://example.com/blob"],
      artifactType: "application/vnd.example+json",
      annotations: { "a": "1", "b": "2" },
    });
    await store.putImages([{ name: "example.com/x:1", target }]);
    assertEquals(await store.getImage("example.com/x:1"), { name: "example.com/x:1", target });
  });

  test("getImage() of an unknown name throws NotFoundError", async (store) => {
    await assertRejects(() => store.getImage("example.com/nope:1"), NotFoundError);
  });

  test("putImages() replaces an existing name and keeps the others", async (store) => {
    await store.putImages([
      { name: "example.com/a:1", target: descriptor(5) },
      { name: "example.com/b:1", target: descriptor(6) },
    ]);
    await store.putImages([{ name: "example.com/a:1", target: descriptor(7) }]);
    assertEquals((await store.getImage("example.com/a:1")).target, descriptor(7));
    assertEquals((await store.getImage("example.com/b:1")).target, descriptor(6));
    assertEquals((await store.listImages()).length, 2);
  });

  test("putImages() is atomic: a concurrent reader sees none or all of the names", async (store) => {
    const records = Array.from({ length: 30 }, (_, i) => ({
      name: `example.com/multi:${i}`,
      target: descriptor(10 + i),
    }));
    const seen = new Set<number>();
    let done = false;
    const reader = (async () => {
      while (!done) {
        seen.add((await store.listImages()).length);
        await sleep(0);
      }
    })();
    await store.putImages(records);
    done = true;
    await reader;
    seen.add((await store.listImages()).length);
    for (const count of seen) assert(count === 0 || count === 30, `saw ${count} names`);
    assertEquals((await store.listImages()).length, 30);
  });

  test("concurrent putImages() calls all land (no lost update)", async (store) => {
    await Promise.all(
      Array.from(
        { length: 25 },
        (_, i) => store.putImages([{ name: `example.com/c:${i}`, target: descriptor(i) }]),
      ),
    );
    assertEquals((await store.listImages()).length, 25);
  });

  test("deleteImages() removes names; an absent name throws NotFoundError and removes nothing", async (store) => {
    await store.putImages([
      { name: "example.com/a:1", target: descriptor(1) },
      { name: "example.com/b:1", target: descriptor(2) },
      { name: "example.com/c:1", target: descriptor(3) },
    ]);
    await assertRejects(
      () => store.deleteImages(["example.com/a:1", "example.com/missing:1"]),
      NotFoundError,
      "example.com/missing:1",
    );
    assertEquals((await store.listImages()).length, 3);
    await store.deleteImages(["example.com/a:1", "example.com/c:1"]);
    assertEquals((await store.listImages()).map((r) => r.name), ["example.com/b:1"]);
    await assertRejects(() => store.getImage("example.com/a:1"), NotFoundError);
  });

  test("names and blobs are independent: deleting a name keeps its blobs", async (store) => {
    const blob = await put(store, encoder.encode("{}"));
    await store.putImages([{
      name: "example.com/empty:1",
      target: { mediaType: "application/vnd.oci.empty.v1+json", digest: blob.digest, size: 2 },
    }]);
    await store.deleteImages(["example.com/empty:1"]);
    assert(await store.has(blob.digest));
  });

  // ----- leases and locking -----

  test("lease().add() protects digests in leasedDigests() until release()", async (store) => {
    const d1 = descriptor(1).digest;
    const d2 = descriptor(2).digest;
    const d3 = descriptor(3).digest;
    const a = await store.lease();
    const b = await store.lease();
    assert(a.id !== b.id, "lease ids are unique");
    await a.add([d1, d2]);
    await b.add([d2, d3]);
    await a.add([]);
    assertEquals(await store.leasedDigests(), new Set([d1, d2, d3]));
    await a.release();
    assertEquals(await store.leasedDigests(), new Set([d2, d3]));
    await b.release();
    assertEquals(await store.leasedDigests(), new Set());
  });

  test("exclusive() returns fn's value and propagates its error, releasing the lock", async (store) => {
    assertEquals(await store.exclusive(() => Promise.resolve(42)), 42);
    await assertRejects(
      () => store.exclusive(() => Promise.reject(new RangeError("inside"))),
      RangeError,
      "inside",
    );
    // The lock was released: a name update still goes through.
    await store.putImages([{ name: "example.com/after:1", target: descriptor(1) }]);
    assertEquals((await store.listImages()).length, 1);
  });

  test("exclusive() serializes: name updates and lease additions wait for fn", async (store) => {
    const lease = await store.lease();
    const events: string[] = [];
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const inside = store.exclusive(async () => {
      events.push("fn start");
      await gate;
      events.push("fn end");
      return "done";
    });
    await sleep(10);
    const put = store.putImages([{ name: "example.com/waits:1", target: descriptor(1) }])
      .then(() => events.push("put"));
    const add = lease.add([descriptor(2).digest]).then(() => events.push("lease add"));
    await sleep(50);
    assertEquals(events, ["fn start"]);
    await assertRejects(() => store.getImage("example.com/waits:1"), NotFoundError);
    finish();
    assertEquals(await inside, "done");
    await Promise.all([put, add]);
    assertEquals(events.slice(0, 2), ["fn start", "fn end"]);
    assertEquals(events.length, 4);
    assertEquals((await store.getImage("example.com/waits:1")).target, descriptor(1));
    assert((await store.leasedDigests()).has(descriptor(2).digest));
    await lease.release();
  });

  test("exclusive() calls never overlap", async (store) => {
    let running = 0;
    let maximum = 0;
    await Promise.all(Array.from({ length: 8 }, () =>
      store.exclusive(async () => {
        running++;
        maximum = Math.max(maximum, running);
        await sleep(5);
        running--;
      })));
    assertEquals(maximum, 1);
  });
}
