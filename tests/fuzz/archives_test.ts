/**
 * Property-based fuzzing of the tar reader and of whole imports (OCI archive, docker
 * archive) into a store: valid archives built in code, then mutated (truncated anywhere,
 * bytes flipped, ranges duplicated, blocks reordered, size fields oversized).
 * Invariant: the import is accepted and every name it records reaches only present,
 * verified blobs — or it fails with ONE typed lading error and the store is unchanged.
 * @module
 */
import fc from "fast-check";
import { assert, assertEquals } from "../assert.ts";
import { readTar } from "../../src/tar.ts";
import { importImages } from "../../src/import/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { LadingError } from "../../src/errors.ts";
import { checkImages } from "../../src/check.ts";
import {
  blobsOf,
  buildImage,
  dockerArchiveFiles,
  layoutFiles,
  tarOfFiles,
} from "../helpers/images.ts";
import { streamOf } from "../helpers/bad_archives.ts";
import { acceptedOrTyped, mutate, mutationArb, params } from "./_fuzz.ts";

const image = await buildImage({
  layers: [
    { files: [{ path: "etc/a", content: "first\n" }] },
    { files: [{ path: "etc/b", content: "second\n".repeat(50) }], compression: "zstd" },
  ],
});
const ociArchive = await tarOfFiles(
  layoutFiles(
    [{ descriptor: image.manifest.descriptor, refName: "example.com/fuzz:1" }],
    blobsOf(image),
  ),
);
const dockerImage = await buildImage({
  docker: true,
  layers: [{ files: [{ path: "x", content: "docker\n" }], compression: "none" }],
});
const dockerArchive = await tarOfFiles(
  await dockerArchiveFiles([{ image: dockerImage, repoTags: ["example.com/fuzz:docker"] }]),
);

Deno.test("fuzz: the tar reader reads a mutated archive to the end or throws one typed error", async () => {
  await fc.assert(
    fc.asyncProperty(mutationArb, fc.integer({ min: 1, max: 4096 }), async (mutations, chunk) => {
      const bytes = mutate(ociArchive, mutations);
      await acceptedOrTyped(async () => {
        for await (const entry of readTar(streamOf(bytes, chunk))) {
          let n = 0;
          for await (const c of entry.body) n += c.byteLength;
          assertEquals(n, entry.size);
        }
      });
    }),
    params(),
  );
});

/** Everything a store holds: blobs with their bytes' length, and names. */
async function contents(store: MemoryStore) {
  const blobs: string[] = [];
  for await (const b of store.list()) blobs.push(`${b.digest} ${b.size}`);
  const names = (await store.listImages()).map((r) => `${r.name} ${r.target.digest}`);
  return { blobs: blobs.sort(), names: names.sort() };
}

for (
  const [what, archive] of [["OCI archive", ociArchive], ["docker archive", dockerArchive]] as const
) {
  Deno.test(`fuzz: importing a mutated ${what} names only complete images, or fails with one typed error and changes nothing`, async () => {
    const store = new MemoryStore();
    const seed = await buildImage({ layers: [{ files: [{ path: "seed", content: "seed" }] }] });
    await importImages(
      store,
      {
        kind: "stream",
        label: "seed.tar",
        stream: streamOf(
          await tarOfFiles(
            layoutFiles(
              [{ descriptor: seed.manifest.descriptor, refName: "example.com/seed:1" }],
              blobsOf(seed),
            ),
          ),
        ),
      },
    );
    await fc.assert(
      fc.asyncProperty(mutationArb, async (mutations) => {
        const bytes = mutate(archive, mutations);
        const before = await contents(store);
        const result = await acceptedOrTyped(() =>
          importImages(store, { kind: "stream", label: "fuzz.tar", stream: streamOf(bytes, 4096) })
        );
        if (result instanceof LadingError) {
          assertEquals(
            await contents(store),
            before,
            `failed import changed the store: ${result.message}`,
          );
          return;
        }
        for (const check of await checkImages(store, undefined, { verify: true })) {
          assert(
            check.complete && check.problems.length === 0,
            `an accepted import named a broken image: ${JSON.stringify(check).slice(0, 500)}`,
          );
        }
        // Back to the seed only, for the next case.
        const seeded = new Set(before.names.map((n) => n.split(" ")[0]));
        const extra = (await store.listImages()).map((r) => r.name).filter((n) => !seeded.has(n));
        if (extra.length) await store.deleteImages(extra);
      }),
      params(0.5),
    );
  });
}
