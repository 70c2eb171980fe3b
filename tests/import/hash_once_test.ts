/**
 * An import hashes every layer's bytes once: the store writer's hash (which it needs for
 * the commit anyway) is the check that the bytes match their digest, for a layout folder as
 * for a tar. And that single check still refuses wrong bytes before anything is visible:
 * the error names the blob's file in one line, and the store is exactly as it was.
 */
import { type Digest, digestBytes } from "../../src/digest.ts";
import { DigestMismatchError, SizeMismatchError } from "../../src/errors.ts";
import { directorySource } from "../../src/deno/fs_source.ts";
import { importImages } from "../../src/import/mod.ts";
import type { DirectorySource, ImportSource } from "../../src/import/source.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import type { Runtime } from "../../src/runtime/types.ts";
import { openFsStore } from "../../src/store/fs.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Store } from "../../src/store/types.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { lading } from "../cli/_run.ts";
import {
  blobsOf,
  buildImage,
  type BuiltImage,
  dockerArchiveFiles,
  layoutFiles,
  tarOfFiles,
} from "../helpers/images.ts";
import { seededFsStore, snapshot, tarSource, withTempDir, writeFiles } from "./_support.ts";

const NOW = new Date("2026-03-04T12:00:00Z");

/** A runtime that counts, per digest, how many hashers finished with that digest. */
async function countingRuntime(): Promise<{ runtime: Runtime; hashed: Map<string, number> }> {
  const base = await getRuntime();
  const hashed = new Map<string, number>();
  const runtime: Runtime = {
    ...base,
    createHasher: async (algorithm) => {
      const h = await base.createHasher(algorithm);
      return {
        update: (chunk) => h.update(chunk),
        digest: () => {
          const hex = h.digest();
          const key = `${algorithm}:${hex}`;
          hashed.set(key, (hashed.get(key) ?? 0) + 1);
          return hex;
        },
      };
    },
  };
  return { runtime, hashed };
}

/** Two layers of `seed`'s own bytes: a gzip one (unless `docker`) and an uncompressed one. */
function image(seed: string, docker = false): Promise<BuiltImage> {
  return buildImage({
    docker,
    layers: [
      {
        files: [{ path: "a.txt", content: `first layer ${seed}\n`.repeat(500) }],
        // docker save keeps layers uncompressed, named by their diff_ids
        ...(docker ? { compression: "none" as const } : {}),
      },
      {
        files: [{ path: "b.txt", content: `second layer ${seed}\n`.repeat(15_000) }],
        compression: "none",
      },
    ],
  });
}

const stores: [string, (runtime: Runtime, dir: string) => Promise<Store>][] = [
  ["fs", (runtime, dir) => openFsStore(`${dir}/store`, { runtime })],
  ["memory", (runtime) => Promise.resolve(new MemoryStore({ runtime }))],
];

const inputs: [string, (dir: string) => Promise<{ source: ImportSource; image: BuiltImage }>][] = [
  ["a layout folder", async (dir) => {
    const img = await image("folder");
    await writeFiles(
      `${dir}/in`,
      layoutFiles([{ descriptor: img.manifest.descriptor, refName: "v1" }], blobsOf(img)),
    );
    return { source: await directorySource(`${dir}/in`), image: img };
  }],
  ["an oci-archive", async () => {
    const img = await image("tar");
    const files = layoutFiles(
      [{ descriptor: img.manifest.descriptor, refName: "v1" }],
      blobsOf(img),
    );
    return { source: tarSource(await tarOfFiles(files)), image: img };
  }],
  ["a docker-save folder (uncompressed layers)", async (dir) => {
    const img = await image("docker", true);
    await writeFiles(`${dir}/in`, await dockerArchiveFiles([{ image: img, repoTags: ["d:1"] }]));
    return { source: await directorySource(`${dir}/in`), image: img };
  }],
];

for (const [shape, make] of inputs) {
  for (const [kind, open] of stores) {
    Deno.test(`importImages() of ${shape} into the ${kind} store hashes each layer's bytes once`, async () => {
      await withTempDir(async (dir) => {
        const { runtime, hashed } = await countingRuntime();
        const store = await open(runtime, dir);
        try {
          const { source, image: img } = await make(dir);
          const r = await importImages(store, source, { now: NOW, runtime });
          assertEquals(r.blobs.added, 4);
          for (const layer of img.layers) {
            assertEquals(
              hashed.get(layer.descriptor.digest),
              1,
              `layer ${layer.descriptor.digest} (${layer.descriptor.size} bytes) hashed ${
                hashed.get(layer.descriptor.digest) ?? 0
              } times`,
            );
            assertEquals(await store.has(layer.descriptor.digest), true);
          }
        } finally {
          await (store as { close?: () => Promise<void> }).close?.();
        }
      });
    });
  }
}

/**
 * The layer file of a layout folder changes after the import looked at it: `open()`
 * returns `replace(bytes)` instead (what the writer, the only hash, has to catch).
 */
function changingFolder(dir: string, path: string, replace: (b: Uint8Array) => Uint8Array) {
  return async (): Promise<DirectorySource> => {
    const real = await directorySource(dir);
    return {
      ...real,
      open: async (p) => {
        if (p !== path) return await real.open(p);
        const bytes = replace(new Uint8Array(await new Response(await real.open(p)).arrayBuffer()));
        return new Blob([bytes as BlobPart]).stream();
      },
    };
  };
}

const changes: [
  string,
  (b: Uint8Array) => Uint8Array,
  typeof DigestMismatchError | typeof SizeMismatchError,
  string,
][] = [
  [
    "other bytes of the same size",
    (b) => {
      const c = b.slice();
      c[c.length - 3] ^= 0x40;
      return c;
    },
    DigestMismatchError,
    "hashes to sha256:",
  ],
  [
    "more bytes than its descriptor",
    (b) => {
      const c = new Uint8Array(b.length + 10);
      c.set(b);
      return c;
    },
    SizeMismatchError,
    "has more than",
  ],
  [
    "fewer bytes than its descriptor",
    (b) => b.slice(0, b.length - 1),
    SizeMismatchError,
    "bytes, descriptor says",
  ],
];

for (const [what, change, errorClass, says] of changes) {
  Deno.test(`importImages() refuses a layout folder whose layer file has ${what} when it is streamed, naming the file in one line, with the store as it was`, async () => {
    const seeded = await seededFsStore();
    try {
      await withTempDir(async (dir) => {
        const img = await image("changed");
        const layer = img.layers[1].descriptor; // 300 kB uncompressed: streamed, not parsed
        const path = `blobs/sha256/${layer.digest.slice(7)}`;
        await writeFiles(
          dir,
          layoutFiles([{ descriptor: img.manifest.descriptor, refName: "v1" }], blobsOf(img)),
        );
        const before = await snapshot(seeded.dir);
        const names = await seeded.store.listImages();
        const source = await changingFolder(dir, path, change)();
        const err = await assertRejects(
          () => importImages(seeded.store, source, { now: NOW }),
          // deno-lint-ignore no-explicit-any
          errorClass as any,
        );
        assertStringIncludes(err.message, `${dir}: ${path}`);
        assertStringIncludes(err.message, says);
        assertStringIncludes(err.message, layer.digest.slice(7, 19));
        assert(!err.message.includes("\n"), err.message);
        if (err instanceof DigestMismatchError) {
          assertEquals(err.expected, layer.digest);
          const actual = await digestBytes(
            await getRuntime(),
            change(await Deno.readFile(`${dir}/${path}`)),
          );
          assertEquals(err.actual, actual as Digest);
          assertStringIncludes(err.message, actual);
        }
        assertEquals(await snapshot(seeded.dir), before, "the store changed");
        assertEquals(await seeded.store.listImages(), names);
      });
    } finally {
      await seeded.cleanup();
    }
  });
}

Deno.test("lading import of a layout folder with a wrong layer file prints one line naming the file, exits 1 and leaves the store as it was", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const good = await image("cli-good");
    await writeFiles(
      `${dir}/good`,
      layoutFiles([{ descriptor: good.manifest.descriptor, refName: "v1" }], blobsOf(good)),
    );
    assertEquals((await lading(store, ["import", `${dir}/good`])).code, 0);
    const img = await image("cli-bad");
    const files = layoutFiles(
      [{ descriptor: img.manifest.descriptor, refName: "v1" }],
      blobsOf(img),
    );
    const path = `blobs/sha256/${img.layers[1].descriptor.digest.slice(7)}`;
    const bad = files.get(path)!.slice();
    bad[1000] ^= 0x01;
    files.set(path, bad);
    await writeFiles(`${dir}/bad`, files);
    const before = await snapshot(store);
    const r = await lading(store, ["import", `${dir}/bad`]);
    assertEquals(r.code, 1, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assertEquals(lines.length, 1, r.stderr);
    assertStringIncludes(lines[0], path);
    assertStringIncludes(lines[0], "hashes to sha256:");
    assertEquals(await snapshot(store), before, "the store changed");
  });
});
