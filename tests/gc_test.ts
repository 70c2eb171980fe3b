import { checkImage } from "../src/check.ts";
import { InvalidInputError } from "../src/errors.ts";
import { collectGarbage, reachableDigests } from "../src/gc.ts";
import { openFsStore } from "../src/store/fs.ts";
import { ownerToken } from "../src/store/fs_files.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { writeBlob } from "../src/store/blob.ts";
import type { Store } from "../src/store/types.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { jsonBlob } from "./helpers/images.ts";
import {
  importBytes,
  multiArchive,
  runCli,
  singleArchive,
  withTempDir,
} from "./export/_support.ts";

async function digests(store: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const b of store.list()) out.push(b.digest);
  return out.sort();
}

async function assertImageHealthy(store: Store, name: string): Promise<void> {
  const check = await checkImage(store, await store.getImage(name));
  assert(check.ok, `${name}: ${check.problems.map((p) => p.message).join("; ")}`);
}

for (const kind of ["memory", "fs"] as const) {
  const withStore = async (fn: (store: Store) => Promise<void>) => {
    if (kind === "memory") return await fn(new MemoryStore());
    await withTempDir(async (dir) => {
      const store = await openFsStore(dir);
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    });
  };

  Deno.test(`collectGarbage() (${kind}) removes blobs no name reaches and keeps shared ones`, async () => {
    await withStore(async (store) => {
      const a = await multiArchive("example.com/a:1", "shared");
      const b = await singleArchive("example.com/b:1");
      await importBytes(store, a.bytes);
      await importBytes(store, b.bytes);
      const stray = await jsonBlob({ stray: true }, "application/json");
      await writeBlob(store, stray.bytes, stray.descriptor);
      const all = await digests(store);

      const dry = await collectGarbage(store, { dryRun: true });
      assertEquals(dry.removed.map((r) => r.digest), [stray.descriptor.digest]);
      assertEquals(dry.dryRun, true);
      assertEquals(await digests(store), all, "a dry run removes nothing");

      const real = await collectGarbage(store);
      assertEquals(real.removed.map((r) => r.digest), [stray.descriptor.digest]);
      assertEquals(real.bytes, stray.descriptor.size);
      await store.deleteImages(["example.com/b:1"]);
      const after = await collectGarbage(store);
      const bBlobs = [b.image.manifest, b.image.config, ...b.image.layers].map((x) =>
        x.descriptor.digest
      ).sort();
      assertEquals(after.removed.map((r) => r.digest), bBlobs);
      await assertImageHealthy(store, "example.com/a:1");
      assertEquals((await collectGarbage(store)).removed, []);
    });
  });

  Deno.test(`collectGarbage() (${kind}) keeps leased digests and whatever a name reaches even when absent parents exist`, async () => {
    await withStore(async (store) => {
      const stray = await jsonBlob({ leased: true }, "application/json");
      await writeBlob(store, stray.bytes, stray.descriptor);
      const lease = await store.lease();
      await lease.add([stray.descriptor.digest]);
      const r = await collectGarbage(store);
      assertEquals(r.removed, []);
      assertEquals(r.leased, 1);
      await lease.release();
      assertEquals((await collectGarbage(store)).removed.map((b) => b.digest), [
        stray.descriptor.digest,
      ]);
    });
  });

  Deno.test(`collectGarbage() (${kind}) refuses to sweep when a named document is unreadable`, async () => {
    await withStore(async (store) => {
      const junk = await jsonBlob(
        { manifests: "not a list" },
        "application/vnd.oci.image.index.v1+json",
      );
      await writeBlob(store, junk.bytes, junk.descriptor);
      await store.putImages([{ name: "example.com/junk:1", target: junk.descriptor }]);
      const stray = await jsonBlob({ stray: 1 }, "application/json");
      await writeBlob(store, stray.bytes, stray.descriptor);
      const e = await assertRejects(() => collectGarbage(store), InvalidInputError);
      assertStringIncludes(e.message, "example.com/junk:1");
      assert(await store.has(stray.descriptor.digest), "nothing was removed");
    });
  });
}

Deno.test("reachableDigests() lists every name that reaches a blob", async () => {
  const store = new MemoryStore();
  const a = await singleArchive("example.com/a:1");
  await importBytes(store, a.bytes);
  await store.putImages([{ name: "example.com/a:2", target: a.image.manifest.descriptor }]);
  const reach = await reachableDigests(store);
  assertEquals(reach.get(a.image.layers[0].descriptor.digest), [
    "example.com/a:1",
    "example.com/a:2",
  ]);
});

/**
 * The race: an image whose name was removed (all its blobs garbage) is imported again
 * while gc runs. Whatever the interleaving, the import completes and the image verifies.
 */
async function raceOnce(
  importStore: Store,
  gcStore: Store,
  archive: Uint8Array,
  name: string,
  delay: number,
) {
  await importBytes(importStore, archive);
  await importStore.deleteImages([name]);
  const gc = (async () => {
    // Timers for the fs store; microtask ticks for the memory store, whose operations
    // never wait for I/O.
    if (delay < 0) { for (let t = 0; t < -delay; t++) await Promise.resolve(); }
    else await new Promise((r) => setTimeout(r, delay));
    await collectGarbage(gcStore);
  })();
  const result = await importBytes(importStore, archive);
  await gc;
  assertEquals(result.images.map((i) => i.name), [name]);
  await assertImageHealthy(importStore, name);
  await assertImageHealthy(gcStore, name);
}

Deno.test("gc racing an import of the same image (memory store, 200 rounds): the import always completes and verifies", async () => {
  const store = new MemoryStore();
  const a = await multiArchive("example.com/race:1", "race-mem");
  for (let i = 0; i < 200; i++) {
    await raceOnce(store, store, a.bytes, "example.com/race:1", -((i * 7) % 400));
  }
});

Deno.test("gc racing an import of the same image (two FsStore instances, 60 rounds): the import always completes and verifies", async () => {
  await withTempDir(async (dir) => {
    const s1 = await openFsStore(dir);
    const s2 = await openFsStore(dir);
    const a = await multiArchive("example.com/race:1", "race-fs");
    for (let i = 0; i < 60; i++) await raceOnce(s1, s2, a.bytes, "example.com/race:1", i % 12);
  });
});

Deno.test("lading gc in one process racing lading import in another (8 rounds): the import completes and nothing referenced is removed", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const a = await multiArchive("example.com/race:2", "race-proc");
    const b = await singleArchive("example.com/keep:1", "keep");
    await Deno.writeFile(`${dir}/a.tar`, a.bytes);
    await Deno.writeFile(`${dir}/b.tar`, b.bytes);
    assertEquals((await runCli(["import", `${dir}/b.tar`], { store })).code, 0);
    const local = await openFsStore(store);
    for (let round = 0; round < 8; round++) {
      assertEquals((await runCli(["import", `${dir}/a.tar`], { store })).code, 0);
      assertEquals((await runCli(["images", "rm", "example.com/race:2"], { store })).code, 0);
      let done = false;
      const importing = runCli(["import", `${dir}/a.tar`], { store }).finally(() => (done = true));
      let gcs = 0;
      while (!done) {
        await collectGarbage(local);
        gcs++;
      }
      const r = await importing;
      assertEquals(r.code, 0, r.stderr);
      assert(gcs > 0);
      await assertImageHealthy(local, "example.com/race:2");
      await assertImageHealthy(local, "example.com/keep:1");
      const gc = await runCli(["gc"], { store });
      assertEquals(gc.code, 0, gc.stderr);
      await assertImageHealthy(local, "example.com/race:2");
    }
  });
});

Deno.test("lading gc --dry-run lists, lading gc frees, and stale ingest files of dead processes are reported", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const a = await singleArchive("example.com/a:1");
    await Deno.writeFile(`${dir}/a.tar`, a.bytes);
    assertEquals((await runCli(["import", `${dir}/a.tar`], { store })).code, 0);
    assertEquals((await runCli(["images", "rm", "example.com/a:1"], { store })).code, 0);
    // A stale ingest file of a process that no longer exists.
    await Deno.mkdir(`${store}/ingest`, { recursive: true });
    await Deno.writeFile(`${store}/ingest/999999999.1-00ff`, new Uint8Array(100));
    const dry = await runCli(["gc", "--dry-run", "--json"], { store });
    assertEquals(dry.code, 0, dry.stderr);
    const report = JSON.parse(dry.stdout);
    assertEquals(report.removed.length, 4);
    assertEquals(report.staleFiles, [{ path: "ingest/999999999.1-00ff", size: 100 }]);
    await Deno.stat(`${store}/ingest/999999999.1-00ff`); // a dry run removes no stale file either
    const after = await openFsStore(store);
    assertEquals((await digests(after)).length, 4, "a dry run removes no blob");
    const real = await runCli(["gc"], { store });
    assertEquals(real.code, 0, real.stderr);
    assertStringIncludes(real.stderr, "freed");
    assertEquals(real.stdout.trim().split("\n").length, 4);
    assertEquals(await digests(after), []);
  });
});

Deno.test("lading gc removes partial downloads idle 24 h or whose blob is complete; --ingest removes every one nobody is writing", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const fs = await openFsStore(store);
    const hex = (c: string) => c.repeat(64);
    // A complete, named blob: its partial download is useless at any age.
    const empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    await writeBlob(fs, new TextEncoder().encode("{}"), { digest: empty, size: 2 });
    await fs.putImages([{
      name: "example.com/empty:1",
      target: { mediaType: "application/vnd.oci.empty.v1+json", digest: empty, size: 2 },
    }]);
    await fs.close();
    const ingest = `${store}/ingest`;
    const fresh = `r-sha256-${hex("a")}`;
    const old = `r-sha256-${hex("b")}`;
    const done = `r-sha256-${empty.slice(7)}`;
    const held = `${await ownerToken()}-r-sha256-${hex("c")}`; // this (live) process writes it
    for (const [name, n] of [[fresh, 10], [old, 20], [done, 1], [held, 40]] as const) {
      await Deno.writeFile(`${ingest}/${name}`, new Uint8Array(n));
    }
    const twoDaysAgo = new Date(Date.now() - 48 * 3600 * 1000);
    await Deno.utime(`${ingest}/${old}`, twoDaysAgo, twoDaysAgo);
    const names = () => Promise.resolve([...Deno.readDirSync(ingest)].map((e) => e.name).sort());

    const dry = await runCli(["gc", "--dry-run", "--json"], { store });
    assertEquals(dry.code, 0, dry.stderr);
    const report = JSON.parse(dry.stdout);
    assertEquals(
      report.staleFiles.sort((a: { size: number }, b: { size: number }) => a.size - b.size),
      [
        { path: `ingest/${done}`, size: 1, partial: empty },
        { path: `ingest/${old}`, size: 20, partial: `sha256:${hex("b")}` },
      ],
    );
    assertEquals(await names(), [fresh, old, done, held].sort(), "a dry run removes nothing");

    const plain = await runCli(["gc"], { store });
    assertEquals(plain.code, 0, plain.stderr);
    assertStringIncludes(plain.stdout, `removed partial download of sha256:${hex("b")}`);
    assertStringIncludes(plain.stderr, "2 stale files");
    assertEquals(await names(), [fresh, held].sort());

    const all = await runCli(["gc", "--ingest"], { store });
    assertEquals(all.code, 0, all.stderr);
    assertStringIncludes(all.stdout, `removed partial download of sha256:${hex("a")}`);
    assertEquals(await names(), [held], "a partial download a live process holds stays");
    // The named image is untouched.
    const after = await openFsStore(store);
    assertEquals((await after.getImage("example.com/empty:1")).target.digest, empty);
    await after.close();
  });
});
