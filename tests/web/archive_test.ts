/**
 * Read-only access to archives and folders (src/web): the tar index reads only headers,
 * the archive view shows what an import would name, and verifies blobs as they stream.
 * @module
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { DigestMismatchError, InvalidInputError, NotFoundError } from "../../src/errors.ts";
import { listImageSummaries, resolveImage } from "../../src/image.ts";
import { importImages } from "../../src/import/mod.ts";
import { readBlobBytes } from "../../src/store/blob.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { indexTar } from "../../src/web/tar_index.ts";
import { directoryFiles, openArchive, tarFiles } from "../../src/web/archive_store.ts";
import { CancelledError } from "../../src/errors.ts";
import { fileListSource, fileSource, relativeFiles } from "../../src/web/sources.ts";
import {
  blobsOf,
  buildImage,
  buildIndex,
  compress,
  demoImage,
  dockerArchiveFiles,
  layoutFiles,
  tarOf,
  tarOfFiles,
} from "../helpers/images.ts";

const NOW = new Date("2026-01-02T00:00:00Z");
const blobOf = (bytes: Uint8Array): Blob => new Blob([bytes as Uint8Array<ArrayBuffer>]);

Deno.test("indexTar() finds every member's offset and reads only the headers", async () => {
  const big = new Uint8Array(3 * 1024 * 1024).fill(7);
  const tar = await tarOf([
    { path: "dir/", type: "directory" },
    { path: "dir/a.txt", content: "alpha" },
    { path: "big.bin", content: big },
    { path: `${"long/".repeat(40)}name.txt`, content: "long name" },
    { path: "link", type: "symlink", linkname: "dir/a.txt" },
  ]);
  const index = await indexTar(blobOf(tar));
  assertEquals([...index.members.keys()].sort(), [
    "big.bin",
    "dir/a.txt",
    `${"long/".repeat(40)}name.txt`,
  ]);
  const a = index.members.get("dir/a.txt")!;
  assertEquals(await index.blob.slice(a.offset, a.offset + a.size).text(), "alpha");
  const long = index.members.get(`${"long/".repeat(40)}name.txt`)!;
  assertEquals(await index.blob.slice(long.offset, long.offset + long.size).text(), "long name");
  assertEquals(index.links.get("link"), "dir/a.txt");
  assert(index.headerBytesRead < 400 * 1024, `read ${index.headerBytesRead} bytes`);
});

Deno.test("indexTar() refuses compressed, truncated and corrupt archives", async () => {
  const tar = await tarOf([{ path: "a.txt", content: "x".repeat(5000) }]);
  await assertRejects(
    () => indexTar(blobOf(tar.subarray(0, 2048))),
    InvalidInputError,
    "truncated",
  );
  const bad = tar.slice();
  bad[10] ^= 0xff;
  await assertRejects(() => indexTar(blobOf(bad)), InvalidInputError, "checksum");
  const gz = await compress(tar, "gzip");
  const zst = await compress(tar, "zstd");
  await assertRejects(() => indexTar(blobOf(gz)), InvalidInputError, "gzip");
  await assertRejects(() => indexTar(blobOf(zst)), InvalidInputError, "zstd");
});

Deno.test("openArchive() of an oci-archive shows the names and digests an import records", async () => {
  const { image, archive } = await demoImage();
  const view = await openArchive(tarFiles(await indexTar(blobOf(archive)), "demo.tar"), {
    now: NOW,
  });
  assertEquals(view.format, "oci-archive");
  const imported = new MemoryStore();
  await importImages(
    imported,
    { kind: "stream", label: "demo", stream: blobOf(archive).stream() },
    { now: NOW },
  );
  assertEquals(view.images, await imported.listImages());
  const resolved = await resolveImage(view.store, "example.com/demo:1");
  assertEquals(resolved.manifestDescriptor.digest, image.manifest.descriptor.digest);
  assertEquals(resolved.config.config?.WorkingDir, "/app");
  assertEquals(await listImageSummaries(view.store), await listImageSummaries(imported));
  // An image source only: nothing to write, name, lease or close.
  assertEquals(["putImages", "writer", "lease", "close"].filter((m) => m in view.store), []);
});

Deno.test("openArchive() of a docker archive synthesizes the importer's manifests", async () => {
  const a = await buildImage({
    layers: [{ files: [{ path: "a.txt", content: "a" }] }],
    docker: true,
  });
  const b = await buildImage({
    layers: [{ files: [{ path: "b.txt", content: "b" }] }],
    platform: { os: "linux", architecture: "arm64", variant: "v8" },
    docker: true,
  });
  const tar = await tarOfFiles(
    await dockerArchiveFiles([{ image: a, repoTags: ["foo:1", "example.com/x/y:2"] }, {
      image: b,
      repoTags: null,
    }]),
  );
  const view = await openArchive(tarFiles(await indexTar(blobOf(tar)), "docker.tar"), { now: NOW });
  assertEquals(view.format, "docker-archive");
  const imported = new MemoryStore();
  await importImages(imported, { kind: "stream", label: "d", stream: blobOf(tar).stream() }, {
    now: NOW,
    digests: true,
    skipDigestForNamed: true,
  });
  assertEquals(view.images, await imported.listImages());
  const r = await resolveImage(view.store, "docker.io/library/foo:1");
  // The layer reads back verified (its digest is the diff_id).
  const layer = await readBlobBytes(view.store, r.manifest.layers[0].digest, {
    maxJsonBytes: 1 << 20,
  });
  assertEquals(layer, a.tars[0]);
});

Deno.test("openArchive() verifies blobs as they stream: a lying archive fails the read", async () => {
  const { image } = await demoImage();
  const files = layoutFiles(
    [{ descriptor: image.manifest.descriptor, refName: "x:1" }],
    blobsOf(image),
  );
  const layerPath = `blobs/sha256/${image.layers[0].descriptor.digest.slice(7)}`;
  const tampered = files.get(layerPath)!.slice();
  tampered[tampered.length - 1] ^= 1;
  files.set(layerPath, tampered);
  const view = await openArchive(tarFiles(await indexTar(blobOf(await tarOfFiles(files)))));
  await assertRejects(
    () => readBlobBytes(view.store, image.layers[0].descriptor.digest, { maxJsonBytes: 1 << 20 }),
    DigestMismatchError,
  );
});

Deno.test("openArchive() of a layout folder (webkitdirectory files) and of a non-image", async () => {
  const { image } = await demoImage();
  const files = layoutFiles([{
    descriptor: image.manifest.descriptor,
    refName: "example.com/demo:1",
  }], blobsOf(image));
  const list = [...files].map(([path, bytes]) =>
    Object.assign(new File([bytes as Uint8Array<ArrayBuffer>], path.split("/").pop()!), {
      webkitRelativePath: `picked/${path}`,
    })
  );
  const source = fileListSource(relativeFiles(list), { label: "picked" });
  const view = await openArchive(directoryFiles(source));
  assertEquals(view.format, "oci-layout");
  assertEquals(view.images.map((r) => r.name), ["example.com/demo:1"]);
  assertEquals(
    (await resolveImage(view.store, "example.com/demo:1")).config.config?.User,
    "1000:1000",
  );
  // The same folder imports through the importer's directory path.
  const store = new MemoryStore();
  const result = await importImages(store, fileListSource(relativeFiles(list)));
  assertEquals(result.images.map((i) => i.name), ["example.com/demo:1"]);
  const junk = await tarOf([{ path: "hello.txt", content: "not an image" }]);
  await assertRejects(
    () => indexTar(blobOf(junk)).then((i) => openArchive(tarFiles(i))),
    InvalidInputError,
    "not an image archive",
  );
  await assertRejects(() => source.open("nope"), NotFoundError);
});

Deno.test("fileSource() fails the import with CancelledError when aborted, and the store stays empty", async () => {
  const { archive } = await demoImage();
  const ac = new AbortController();
  const store = new MemoryStore();
  let seen = 0;
  const source = fileSource(new File([archive as Uint8Array<ArrayBuffer>], "demo.tar"), {
    signal: ac.signal,
    onBytes: (n) => {
      seen += n;
      if (seen > 0) ac.abort();
    },
  });
  await assertRejects(() => importImages(store, source), CancelledError);
  let blobs = 0;
  for await (const _ of store.list()) blobs++;
  assertEquals(blobs, 0);
  assertEquals(await store.listImages(), []);
});

Deno.test("an index of several platforms opens with every platform resolvable", async () => {
  const a = await buildImage({ layers: [{ files: [{ path: "a", content: "a" }] }] });
  const b = await buildImage({
    layers: [{ files: [{ path: "b", content: "b" }] }],
    platform: { os: "linux", architecture: "arm64" },
  });
  const idx = await buildIndex([a, b]);
  const tar = await tarOfFiles(
    layoutFiles([{ descriptor: idx.descriptor, refName: "example.com/multi:1" }], [
      idx,
      ...blobsOf(a),
      ...blobsOf(b),
    ]),
  );
  const view = await openArchive(tarFiles(await indexTar(blobOf(tar))));
  const arm = await resolveImage(view.store, "example.com/multi:1", {
    platform: { os: "linux", architecture: "arm64" },
  });
  assertEquals(arm.manifestDescriptor.digest, b.manifest.descriptor.digest);
  const [summary] = await listImageSummaries(view.store);
  assertEquals(summary.platforms, ["linux/amd64", "linux/arm64"]);
});

Deno.test("importImages() with a signal that aborts after the input was read leaves the store as it was", async () => {
  const { archive } = await demoImage();
  const ac = new AbortController();
  const store = new MemoryStore();
  let commits = 0;
  // Aborts while the blobs are being committed: the import stops and removes what it added.
  const spy = new Proxy(store, {
    get(t, p, r) {
      if (p === "writer") {
        return async () => {
          const w = await t.writer();
          return {
            ...w,
            commit: (e: Parameters<typeof w.commit>[0]) => {
              if (++commits === 2) ac.abort();
              return w.commit(e);
            },
          };
        };
      }
      const v = Reflect.get(t, p, r);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  await assertRejects(
    () =>
      importImages(spy, { kind: "stream", label: "demo", stream: blobOf(archive).stream() }, {
        signal: ac.signal,
      }),
    CancelledError,
    "cancelled",
  );
  assert(commits >= 2, "the abort came while committing");
  let blobs = 0;
  for await (const _ of store.list()) blobs++;
  assertEquals(blobs, 0);
  assertEquals(await store.listImages(), []);
});

Deno.test("importImages() with an already aborted signal writes nothing", async () => {
  const { archive } = await demoImage();
  const store = new MemoryStore();
  await assertRejects(
    () =>
      importImages(store, { kind: "stream", label: "demo", stream: blobOf(archive).stream() }, {
        signal: AbortSignal.abort(),
      }),
    CancelledError,
  );
  let blobs = 0;
  for await (const _ of store.list()) blobs++;
  assertEquals(blobs, 0);
});
