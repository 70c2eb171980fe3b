/**
 * A process killed with SIGKILL in the middle of an import leaves a store that opens,
 * shows no partial blob and no new name, and accepts the same import afterwards.
 */
import { importImages } from "../../src/import/mod.ts";
import { openFsStore } from "../../src/store/fs.ts";
import { assert, assertEquals } from "../assert.ts";
import {
  assertStoreVerifies,
  bigArchive,
  seededFsStore,
  snapshot,
  tarSource,
  withTempDir,
} from "./_support.ts";

const SCRIPT = new URL("./_slow_import.ts", import.meta.url).pathname;

/** Starts the slow importer and kills it once it reported `killAt` bytes read. */
async function killMidImport(
  archive: string,
  storeDir: string,
  killAt: number,
): Promise<{ lastProgress: number; finished: boolean }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", SCRIPT, archive, storeDir, "10"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let lastProgress = 0;
  let finished = false;
  let buffer = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith("progress ")) lastProgress = Number(line.slice(9));
        if (line.startsWith("done ")) finished = true;
      }
      if (finished || lastProgress >= killAt) break;
    }
    if (!finished) child.kill("SIGKILL");
  } finally {
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
  }
  const status = await child.status;
  const stderr = new TextDecoder().decode(
    await new Response(child.stderr).arrayBuffer().then((b) => new Uint8Array(b)),
  );
  if (!finished) {
    assertEquals(status.signal, "SIGKILL", `the child ended on its own: ${stderr}`);
  }
  return { lastProgress, finished };
}

for (
  const [label, killAt] of [["early", 512 * 1024], ["in the middle", 6 * 1024 * 1024]] as const
) {
  Deno.test(`a SIGKILL ${label} of an import leaves a store that opens, with no partial blob and no new name, and the same import then succeeds`, async () => {
    const seeded = await seededFsStore();
    const namesBefore = (await seeded.store.listImages()).map((r) => r.name);
    const blobsBefore = Object.keys(await snapshot(seeded.dir)).filter((p) =>
      p.startsWith("blobs/")
    );
    await seeded.store.close();
    try {
      await withTempDir(async (tmp) => {
        const { bytes, image } = await bigArchive("example.com/big:1", [11, 12, 13], 4);
        const archive = `${tmp}/big.tar`;
        await Deno.writeFile(archive, bytes);
        const run = await killMidImport(archive, seeded.dir, killAt);
        assert(!run.finished, "the import finished before it could be killed; slow it down");
        assert(run.lastProgress >= killAt, `killed at ${run.lastProgress}`);
        const leftBehind = Object.keys(await snapshot(seeded.dir)).filter((p) =>
          p.startsWith("ingest/") && p !== "ingest/"
        );
        assert(leftBehind.length > 0, "the kill left no ingest file: it did not hit a write");

        const store = await openFsStore(seeded.dir);
        try {
          assertEquals((await store.listImages()).map((r) => r.name), namesBefore);
          await assertStoreVerifies(seeded.dir, store);
          const after = await snapshot(seeded.dir);
          assertEquals(
            Object.keys(after).filter((p) => p.startsWith("blobs/")),
            blobsBefore,
            "a blob appeared although nothing was committed",
          );
          assertEquals(
            Object.keys(after).filter((p) => /^(ingest|leases)\/./.test(p)),
            [],
            "the dead process's ingest files and leases were not cleaned when the store opened",
          );

          const r = await importImages(store, tarSource(bytes, "big.tar"));
          assertEquals(r.images.map((i) => i.name), ["example.com/big:1"]);
          assertEquals(r.images[0].digest, image.manifest.descriptor.digest);
          assertEquals(r.blobs.added, 5);
          await assertStoreVerifies(seeded.dir, store);
        } finally {
          await store.close();
        }
      });
    } finally {
      await Deno.remove(seeded.dir, { recursive: true });
    }
  });
}

Deno.test("a SIGKILL right after the whole archive was read (while committing) leaves a consistent store", async () => {
  const seeded = await seededFsStore();
  const namesBefore = (await seeded.store.listImages()).map((r) => r.name);
  await seeded.store.close();
  try {
    await withTempDir(async (tmp) => {
      const { bytes } = await bigArchive("example.com/big:2", [21, 22, 23], 4);
      const archive = `${tmp}/big.tar`;
      await Deno.writeFile(archive, bytes);
      // Progress is reported every 256 KiB; kill at the last report before the end.
      await killMidImport(archive, seeded.dir, 12 * 1024 * 1024 - 256 * 1024);
      const store = await openFsStore(seeded.dir);
      try {
        const names = (await store.listImages()).map((r) => r.name);
        assert(
          names.length === namesBefore.length ||
            (names.length === namesBefore.length + 1 && names.includes("example.com/big:2")),
          `unexpected names ${names.join(", ")}`,
        );
        await assertStoreVerifies(seeded.dir, store);
        const r = await importImages(store, tarSource(bytes, "big.tar"));
        assertEquals(r.images.map((i) => i.name), ["example.com/big:2"]);
        await assertStoreVerifies(seeded.dir, store);
      } finally {
        await store.close();
      }
    });
  } finally {
    await Deno.remove(seeded.dir, { recursive: true });
  }
});
