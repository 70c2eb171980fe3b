/**
 * Shared helpers of the import tests: store snapshots (every path and the sha256 of every
 * file), blob re-verification, sources from bytes, and a store that already holds one
 * imported image.
 * @module
 */
import { createHash } from "node:crypto";
import { importImages, type ImportResult } from "../../src/import/mod.ts";
import type { ImportSource } from "../../src/import/source.ts";
import { openFsStore } from "../../src/store/fs.ts";
import type { Store } from "../../src/store/types.ts";
import { assertEquals } from "../assert.ts";
import { streamOf } from "../helpers/bad_archives.ts";
import { summarizeImage } from "../../src/image.ts";
import {
  buildImage,
  type BuiltImage,
  demoImage,
  layoutFiles,
  tarOfFiles,
} from "../helpers/images.ts";

/** A stream source over bytes. */
export function tarSource(bytes: Uint8Array, label = "test.tar"): ImportSource {
  return { kind: "stream", label, stream: streamOf(bytes), size: bytes.byteLength };
}

/** Writes a files map under `dir` (creating folders). */
export async function writeFiles(dir: string, files: Map<string, Uint8Array>): Promise<void> {
  for (const [path, bytes] of files) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(full, bytes);
  }
}

/**
 * Every path under `dir` (directories end in `/`) with the sha256 of every regular file
 * and the target of every symlink; the `lock` file is left out.
 */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (rel: string) => {
    for await (const e of Deno.readDir(`${dir}/${rel}`)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      // The lock, and the layer index the layer commands keep (not content: rebuilt at will).
      if (path === "lock" || path === "lading-cache") continue;
      if (e.isDirectory) {
        out[`${path}/`] = "dir";
        await visit(path);
      } else if (e.isSymlink) {
        out[path] = `-> ${await Deno.readLink(`${dir}/${path}`)}`;
      } else if (!e.isFile) {
        out[path] = "not a regular file"; // a FIFO: never opened
      } else {
        const bytes = await Deno.readFile(`${dir}/${path}`);
        out[path] = createHash("sha256").update(bytes).digest("hex");
      }
    }
  };
  await visit("");
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Re-hashes every blob file of an on-disk store and checks it against its name. */
export async function verifyBlobFiles(dir: string): Promise<number> {
  let n = 0;
  for await (const alg of Deno.readDir(`${dir}/blobs`)) {
    for await (const e of Deno.readDir(`${dir}/blobs/${alg.name}`)) {
      const bytes = await Deno.readFile(`${dir}/blobs/${alg.name}/${e.name}`);
      const hex = createHash(alg.name).update(bytes).digest("hex");
      assertEquals(hex, e.name, `blob ${alg.name}:${e.name} does not hash to its name`);
      n++;
    }
  }
  return n;
}

/** An FsStore in a fresh temp dir that already holds the demo image. */
export async function seededFsStore(): Promise<
  { dir: string; store: Store; seed: ImportResult; cleanup(): Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "lading-import-" });
  const store = await openFsStore(dir);
  const { archive } = await demoImage();
  const seed = await importImages(store, tarSource(archive, "demo.tar"));
  return {
    dir,
    store,
    seed,
    async cleanup() {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Runs `fn` with a fresh temp dir, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "lading-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Deterministic incompressible bytes (xorshift32) for big test layers. */
export function noise(seed: number, size: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, size);
}

/**
 * An oci-archive of one image named `name` whose layers are `layerSeeds.length`
 * uncompressed tars of `mib` MiB of noise each (equal seeds give shared layers).
 */
export async function bigArchive(
  name: string,
  layerSeeds: number[],
  mib: number,
): Promise<{ bytes: Uint8Array; image: BuiltImage }> {
  const image = await buildImage({
    layers: layerSeeds.map((seed) => ({
      files: [{ path: `data-${seed}.bin`, content: noise(seed, mib * 1024 * 1024) }],
      compression: "none" as const,
    })),
  });
  const files = layoutFiles([{ descriptor: image.manifest.descriptor, refName: name }], [
    image.manifest,
    image.config,
    ...image.layers,
  ]);
  return { bytes: await tarOfFiles(files), image };
}

/**
 * Checks a store after a crash or a race: every blob file hashes to its name, nothing is
 * left in ingest/ by a dead process, and every name's reachable content is present.
 */
export async function assertStoreVerifies(dir: string, store: Store): Promise<void> {
  await verifyBlobFiles(dir);
  for (const record of await store.listImages()) {
    const s = await summarizeImage(store, record);
    assertEquals(s.missing, [], `image ${record.name} misses blobs`);
  }
}
