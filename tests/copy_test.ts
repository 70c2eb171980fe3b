/**
 * copyGraph(): the one graph copy behind pull, push and copy, between two stores.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { copyGraph, storeSource, storeTarget } from "../src/copy.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { writeBlob } from "../src/store/blob.ts";
import { blob, buildImage, buildIndex, jsonBlob } from "./helpers/images.ts";
import { InvalidInputError, MissingContentError } from "../src/errors.ts";
import * as mt from "../src/media_types.ts";

async function storeWith(
  blobs: { bytes: Uint8Array; descriptor: { digest: string; size: number } }[],
) {
  const s = new MemoryStore();
  for (const b of blobs) await writeBlob(s, b.bytes, b.descriptor);
  return s;
}

Deno.test("copyGraph() copies an index, its manifests, configs and layers; a second copy moves nothing", async () => {
  const a = await buildImage({ layers: [{ files: [{ path: "a", content: "a" }] }] });
  const b = await buildImage({
    platform: { os: "linux", architecture: "arm64" },
    layers: [{ files: [{ path: "b", content: "b" }] }],
  });
  const index = await buildIndex([a, b]);
  const from = await storeWith([
    index,
    ...[a, b].flatMap((i) => [i.manifest, i.config, ...i.layers]),
  ]);
  const to = new MemoryStore();
  const r = await copyGraph(storeSource(from), storeTarget(to), { root: index.descriptor });
  assertEquals(r.blobs.transferred, 7);
  assertEquals(r.platforms, ["linux/amd64", "linux/arm64"]);
  const again = await copyGraph(storeSource(from), storeTarget(to), { root: index.descriptor });
  assertEquals(again.blobs.transferred, 0);
  assertEquals(again.blobs.present, 7);
});

Deno.test("copyGraph() with platforms copies only those manifests under an index", async () => {
  const a = await buildImage({ layers: [{ files: [{ path: "a", content: "a" }] }] });
  const b = await buildImage({
    platform: { os: "linux", architecture: "arm64" },
    layers: [{ files: [{ path: "b", content: "b" }] }],
  });
  const index = await buildIndex([a, b]);
  const from = await storeWith([index, a.manifest, a.config, ...a.layers]);
  const to = new MemoryStore();
  await copyGraph(storeSource(from), storeTarget(to), {
    root: index.descriptor,
    platforms: [{ os: "linux", architecture: "amd64" }],
  });
  assert(await to.has(a.layers[0].descriptor.digest));
  assert(!(await to.has(b.manifest.descriptor.digest)));
  await assertRejects(
    () => copyGraph(storeSource(from), storeTarget(new MemoryStore()), { root: index.descriptor }),
    MissingContentError,
    b.manifest.descriptor.digest,
  );
});

Deno.test("copyGraph() refuses an index descriptor over a manifest body (kind confusion) before writing", async () => {
  const a = await buildImage({ layers: [{ files: [{ path: "a", content: "a" }] }] });
  const from = await storeWith([a.manifest, a.config, ...a.layers]);
  const to = new MemoryStore();
  await assertRejects(
    () =>
      copyGraph(storeSource(from), storeTarget(to), {
        root: { ...a.manifest.descriptor, mediaType: mt.OCI_INDEX },
      }),
    InvalidInputError,
    "not an index",
  );
  assertEquals([...(await Array.fromAsync(to.list()))].length, 0);
});

Deno.test("copyGraph() skips non-distributable layers with a warning", async () => {
  const cfg = await jsonBlob(
    { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } },
    mt.OCI_CONFIG,
  );
  const foreign = await blob("foreign", mt.OCI_LAYER_NONDIST_GZIP, {
    urls: ["https://x.invalid/l"],
  });
  const m = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: cfg.descriptor,
    layers: [foreign.descriptor],
  }, mt.OCI_MANIFEST);
  const from = await storeWith([m, cfg]);
  const to = new MemoryStore();
  const warnings: string[] = [];
  await copyGraph(storeSource(from), storeTarget(to), {
    root: m.descriptor,
    onWarning: (w) => warnings.push(w),
  });
  assert(await to.has(m.descriptor.digest));
  assert(!(await to.has(foreign.descriptor.digest)));
  assertEquals(warnings.length, 1);
});
