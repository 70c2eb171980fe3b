/**
 * Two imports into one store at once (two processes, and two FsStore instances in one
 * process) both succeed, and the store verifies afterwards: every blob hashes to its name
 * and every name's reachable content is present.
 */
import { importImages } from "../../src/import/mod.ts";
import { openFsStore } from "../../src/store/fs.ts";
import { assertEquals } from "../assert.ts";
import { assertStoreVerifies, bigArchive, tarSource, withTempDir } from "./_support.ts";

const SCRIPT = new URL("./_slow_import.ts", import.meta.url).pathname;

async function childImport(archive: string, storeDir: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", SCRIPT, archive, storeDir, "2"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, `child import failed: ${stderr}`);
  return stdout.split("\n").find((l) => l.startsWith("done ")) ?? "";
}

const CASES = [
  { label: "different images sharing layers", a: [1, 2, 3], b: [1, 2, 4] },
  { label: "the same image", a: [5, 6, 7], b: [5, 6, 7] },
] as const;

for (const c of CASES) {
  Deno.test(`two processes importing ${c.label} into one store at once both succeed and the store verifies`, async () => {
    await withTempDir(async (tmp) => {
      const storeDir = `${tmp}/store`;
      const a = await bigArchive("example.com/a:1", [...c.a], 2);
      const b = await bigArchive("example.com/b:1", [...c.b], 2);
      await Deno.writeFile(`${tmp}/a.tar`, a.bytes);
      await Deno.writeFile(`${tmp}/b.tar`, b.bytes);
      const [da, db] = await Promise.all([
        childImport(`${tmp}/a.tar`, storeDir),
        childImport(`${tmp}/b.tar`, storeDir),
      ]);
      const ra = JSON.parse(da.slice(5));
      const rb = JSON.parse(db.slice(5));
      assertEquals(ra.images[0].digest, a.image.manifest.descriptor.digest);
      assertEquals(rb.images[0].digest, b.image.manifest.descriptor.digest);
      const store = await openFsStore(storeDir);
      try {
        assertEquals((await store.listImages()).map((r) => r.name), [
          "example.com/a:1",
          "example.com/b:1",
        ]);
        await assertStoreVerifies(storeDir, store);
      } finally {
        await store.close();
      }
    });
  });

  Deno.test(`two in-process imports of ${c.label} through two FsStore instances on one directory both succeed and the store verifies`, async () => {
    await withTempDir(async (tmp) => {
      const a = await bigArchive("example.com/a:2", [...c.a], 1);
      const b = await bigArchive("example.com/b:2", [...c.b], 1);
      const s1 = await openFsStore(tmp);
      const s2 = await openFsStore(tmp);
      try {
        const [ra, rb] = await Promise.all([
          importImages(s1, tarSource(a.bytes, "a.tar")),
          importImages(s2, tarSource(b.bytes, "b.tar")),
        ]);
        assertEquals(ra.images.map((i) => i.name), ["example.com/a:2"]);
        assertEquals(rb.images.map((i) => i.name), ["example.com/b:2"]);
        // Each shared or identical blob was added by exactly one of them.
        const distinct = new Set([
          ...[a.image.manifest, a.image.config, ...a.image.layers].map((x) => x.descriptor.digest),
          ...[b.image.manifest, b.image.config, ...b.image.layers].map((x) => x.descriptor.digest),
        ]);
        assertEquals(ra.blobs.added + rb.blobs.added, distinct.size);
        for (const s of [s1, s2]) {
          assertEquals((await s.listImages()).map((r) => r.name), [
            "example.com/a:2",
            "example.com/b:2",
          ]);
          await assertStoreVerifies(tmp, s);
        }
      } finally {
        await s1.close();
        await s2.close();
      }
    });
  });
}

Deno.test("ten in-process imports into one FsStore at once all succeed", async () => {
  await withTempDir(async (tmp) => {
    const store = await openFsStore(tmp);
    try {
      const archives = await Promise.all(
        Array.from(
          { length: 10 },
          (_, i) => bigArchive(`example.com/many:${i}`, [100, 200 + i], 0.25),
        ),
      );
      await Promise.all(
        archives.map((a, i) => importImages(store, tarSource(a.bytes, `${i}.tar`))),
      );
      assertEquals((await store.listImages()).length, 10);
      await assertStoreVerifies(tmp, store);
    } finally {
      await store.close();
    }
  });
});
