import { streamHashing, verifyContent } from "../../src/check.ts";
import { digestBytes } from "../../src/digest.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import { writeBlob } from "../../src/store/blob.ts";
import { type FsStore, openFsStore } from "../../src/store/fs.ts";
import { fsHashing } from "../../src/deno/fs_hashing.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { patternBytes } from "../store/suite.ts";

async function withStore(fn: (store: FsStore, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "lading-fs-hashing-" });
  try {
    await fn(await openFsStore(dir), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function put(store: FsStore, bytes: Uint8Array, algorithm: "sha256" | "sha512" = "sha256") {
  const digest = await digestBytes(await getRuntime(), bytes, { algorithm });
  await writeBlob(store, bytes, { digest, size: bytes.byteLength });
  return digest;
}

async function corrupt(dir: string, digest: string) {
  const path = `${dir}/blobs/${digest.replace(":", "/")}`;
  const bytes = await Deno.readFile(path);
  bytes[bytes.length >> 1] ^= 0xff;
  await Deno.chmod(path, 0o644);
  await Deno.writeFile(path, bytes);
}

Deno.test("fsHashing() in workers finds the same problems as the stream, with all progress reported", async () => {
  await withStore(async (store, dir) => {
    const digests = [];
    for (let i = 0; i < 6; i++) {
      digests.push(await put(store, patternBytes(300_000 + i * 70_001, i)));
    }
    digests.push(await put(store, patternBytes(5000, 9), "sha512"));
    const empty = await put(store, new Uint8Array(0));
    await corrupt(dir, digests[2]);
    await corrupt(dir, digests[6]);
    const expected = await verifyContent(store, { hashing: streamHashing(store) });
    assertEquals(expected.problems.map((p) => p.digest).sort(), [digests[2], digests[6]].sort());
    const hashing = fsHashing(store, { workers: 2, minWorkerBytes: 0 });
    try {
      let last = 0;
      let total = 0;
      const report = await verifyContent(store, {
        hashing,
        onProgress: (n, all) => {
          assert(n >= last, "progress only grows");
          last = n;
          total = all;
        },
      });
      assertEquals(report, expected);
      assertEquals(last, total);
      assertEquals(hashing.workersRunning, 2);
      assertEquals(await hashing.hash(empty), {
        digest: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        size: 0,
      });
    } finally {
      hashing.close();
    }
  });
});

Deno.test("fsHashing() hashes small blobs in this thread and starts workers only for a large one", async () => {
  await withStore(async (store) => {
    const small = await put(store, patternBytes(1000));
    const large = await put(store, patternBytes(200_000, 2));
    const hashing = fsHashing(store, { workers: 2, minWorkerBytes: 100_000 });
    try {
      assertEquals((await hashing.hash(small))?.digest, small);
      assertEquals(hashing.workersRunning, 0);
      assertEquals((await hashing.hash(large))?.digest, large);
      assertEquals(hashing.workersRunning, 1);
      // Once a worker runs, small blobs go to the pool too.
      assertEquals((await hashing.hash(small))?.digest, small);
      assertEquals(hashing.workersRunning, 1);
    } finally {
      hashing.close();
    }
    assertEquals(hashing.workersRunning, 0);
    await assertRejects(() => hashing.hash(small), Error, "closed");
  });
});

Deno.test("fsHashing() reports absent blobs and symlinks in blobs/ as missing, in workers and in this thread", async () => {
  await withStore(async (store, dir) => {
    const real = await put(store, patternBytes(1000));
    await Deno.writeTextFile(`${dir}/secret`, "not a blob");
    const link = `sha256:${"c".repeat(64)}` as const;
    await Deno.symlink(`${dir}/secret`, `${dir}/blobs/sha256/${"c".repeat(64)}`);
    const absent = `sha256:${"d".repeat(64)}` as const;
    for (const minWorkerBytes of [0, Infinity]) {
      const hashing = fsHashing(store, { workers: 1, minWorkerBytes });
      try {
        assertEquals(await hashing.hash(absent), undefined);
        assertEquals(await hashing.hash(link), undefined);
        assertEquals((await hashing.hash(real))?.size, 1000);
      } finally {
        hashing.close();
      }
    }
  });
});

Deno.test("fsHashing() with workers: 0 is one blob at a time in this thread", async () => {
  await withStore(async (store) => {
    const d = await put(store, patternBytes(50_000));
    const hashing = fsHashing(store, { workers: 0, minWorkerBytes: 0 });
    assertEquals(hashing.concurrency, 1);
    assertEquals((await hashing.hash(d))?.digest, d);
    assertEquals(hashing.workersRunning, 0);
    hashing.close();
  });
});
