/**
 * The library under Node (bundled by `node_test.ts` with esbuild, run with `node`): the
 * runtime Node gets, the host platform, importing a real archive into a MemoryStore,
 * resolving, listing files, checking blobs and diff_ids, opening the archive read-only,
 * and building an image whose digest must equal the one Deno built; and the store
 * conformance suite against the node:fs store of `_node_fs_store.ts`. Uses `node:test`.
 * Arguments: ARCHIVE IMAGE_NAME DENO_BUILT_DIGEST.
 * @module
 */
import { strict as assert } from "node:assert";
import { openAsBlob } from "node:fs";
import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import test from "node:test";
import {
  appendLayer,
  checkDiffIds,
  checkImages,
  digestBytes,
  emptyImage,
  exportArchive,
  getRuntime,
  hostPlatform,
  importImages,
  listImageFiles,
  listImageSummaries,
  MemoryStore,
  openArchive,
  resolveImage,
  setConfig,
  writeImage,
} from "../../mod.ts";
import { buildSteps } from "./_build_steps.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { storeConformance } from "../store/suite.ts";
import { openNodeFsStore } from "./_node_fs_store.ts";

// deno-lint-ignore no-process-global
const [archive, name, denoDigest] = process.argv.slice(2);

function fileStream(path: string): ReadableStream<Uint8Array> {
  return Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>;
}

test("the runtime is node:crypto/node:zlib and hostPlatform() is the real host", async () => {
  const rt = await getRuntime();
  assert.equal(rt.name, "node");
  // deno-lint-ignore no-process-global
  const arch = { x64: "amd64", arm64: "arm64", ia32: "386" }[process.arch as string];
  // deno-lint-ignore no-process-global
  assert.deepEqual(hostPlatform(), { os: process.platform, architecture: arch });
  const bytes = new TextEncoder().encode("lading");
  const expected = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  assert.equal(await digestBytes(rt, bytes), expected);
});

test("the runtime's gunzip reads gzip as Go does: members to the end, every trailer checked", async () => {
  const rt = await getRuntime();
  const zlib = await import("node:zlib");
  const member = new Uint8Array(zlib.gzipSync(new TextEncoder().encode("lading ".repeat(5000))));
  const join = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
  const decode = (bytes: Uint8Array) =>
    new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(rt.gunzip())).arrayBuffer();
  assert.equal((await decode(join(member, member))).byteLength, 70000);
  const badCrc = member.slice();
  badCrc[badCrc.length - 6] ^= 0xff;
  for (
    const bad of [
      join(badCrc, member), // a wrong CRC-32 in the first member
      member.subarray(0, member.length - 3), // a cut trailer
      join(member, new Uint8Array(16)), // zero padding
      join(member, new Uint8Array(1), member), // a member behind a zero byte
    ]
  ) {
    await assert.rejects(() => decode(bad), { name: "InvalidInputError" });
  }
});

test("importImages() reads a real archive (gzip and zstd layers) into a MemoryStore", async () => {
  const store = new MemoryStore();
  const result = await importImages(store, fileStream(archive));
  assert.deepEqual(result.images.map((i) => i.name), [name]);
  const image = await resolveImage(store, name);
  assert.equal(image.manifest.layers.length, 2);
  const files = await listImageFiles(store, name);
  assert.deepEqual(files.map((f) => f.path), ["app", "app/hello", "etc", "etc/zstd"]);
  const [check] = await checkImages(store);
  assert.equal(check.ok, true);
  const diffIds = await checkDiffIds(store, name);
  assert.equal(diffIds.ok, true);
  assert.ok(diffIds.manifests.every((m) => m.layers.every((l) => l.verified === true)));
});

test("openArchive() opens the archive read-only from a Blob", async () => {
  const view = await openArchive(await openAsBlob(archive));
  assert.equal(view.format, "oci-archive");
  const summaries = await listImageSummaries(view.store);
  assert.deepEqual(summaries.map((s) => s.name), [name]);
});

test("an image built under Node has the digest Deno gave it, and exports and re-imports", async () => {
  const store = new MemoryStore();
  const built = await writeImage(
    store,
    await buildSteps(store, { appendLayer, emptyImage, setConfig }),
    {
      name: "example.com/node:1",
    },
  );
  assert.equal(built.descriptor.digest, denoDigest);
  const again = new MemoryStore();
  const result = await importImages(again, await exportArchive(store, ["example.com/node:1"]));
  assert.equal(result.images[0].digest, denoDigest);
});

// The README's recipe for a store over node:fs, held to the same suite as lading's stores.
storeConformance("NodeFsStore (node:fs, under Node)", async () => {
  const dir = await mkdtemp(`${tmpdir()}/lading-node-store-`);
  return {
    store: await openNodeFsStore(dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}, { test: (title, fn) => void test(title, fn) });
