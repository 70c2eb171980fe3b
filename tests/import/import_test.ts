/**
 * The importer's happy paths, into both stores: every input shape (layout directory,
 * oci-archive, docker archive; plain, gzip, zstd; stream, wrapper folder, symlinked docker
 * layers, Docker 25 hybrids), dedupe, containerd 1.6 names, docker manifest digests,
 * platform filtering, dry runs, unknown media types.
 */
import { type Digest, digestBytes } from "../../src/digest.ts";
import { sourceFromPath } from "../../src/deno/fs_source.ts";
import { importImages, type ImportOptions, type ImportResult } from "../../src/import/mod.ts";
import type { ImportSource } from "../../src/import/source.ts";
import { summarizeImage } from "../../src/image.ts";
import * as mt from "../../src/media_types.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import { readAllBytes } from "../../src/store/blob.ts";
import { openFsStore } from "../../src/store/fs.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Store } from "../../src/store/types.ts";
import type { Descriptor } from "../../src/types.ts";
import { assert, assertEquals } from "../assert.ts";
import { membersOf, rawTar, streamOf } from "../helpers/bad_archives.ts";
import {
  blob,
  blobsOf,
  buildImage,
  type BuiltBlob,
  type BuiltImage,
  compress,
  dockerArchiveFiles,
  jsonBlob,
  type LayoutEntry,
  layoutFiles,
  tarOfFiles,
} from "../helpers/images.ts";
import { snapshot, tarSource, verifyBlobFiles, withTempDir, writeFiles } from "./_support.ts";

const enc = new TextEncoder();
const NOW = new Date("2026-03-04T12:00:00Z");
const BASE = "import-2026-03-04";
type Compression = "none" | "gzip" | "zstd";

interface StoreCase {
  kind: "memory" | "fs";
  store: Store;
  dir?: string;
}

/** Runs `fn` once with a MemoryStore and once with an FsStore in a temp dir. */
function bothStores(name: string, fn: (s: StoreCase) => Promise<void>): void {
  Deno.test(`${name} (MemoryStore)`, () => fn({ kind: "memory", store: new MemoryStore() }));
  Deno.test(`${name} (FsStore)`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "lading-import-" });
    const store = await openFsStore(dir);
    try {
      await fn({ kind: "fs", store, dir });
      await verifyBlobFiles(dir);
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

function image(seed: string, options: { docker?: boolean; arch?: string } = {}) {
  return buildImage({
    docker: options.docker,
    platform: { os: "linux", architecture: options.arch ?? "amd64" },
    layers: [
      { files: [{ path: `etc/${seed}`, content: `first layer of ${seed}\n` }] },
      {
        files: [{ path: `app/${seed}`, content: `second layer of ${seed}\n` }],
        compression: "none",
      },
    ],
  });
}

async function assertHas(store: Store, blobs: BuiltBlob[]): Promise<void> {
  for (const b of blobs) {
    assert(await store.has(b.descriptor.digest), `${b.descriptor.digest} is not in the store`);
    const bytes = await readAllBytes(await store.reader(b.descriptor.digest), 1 << 30);
    assertEquals(bytes.byteLength, b.bytes.byteLength);
  }
}

async function storeDigests(store: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const b of store.list()) out.push(b.digest);
  return out.sort();
}

function names(r: ImportResult): string[] {
  return r.images.map((i) => i.name).sort();
}

/**
 * The docker schema 2 manifest containerd 1.6 builds for a docker-save entry. One
 * documented difference (src/import/docker.ts): ctr labels zstd layers as Docker gzip,
 * lading as OCI zstd; plain and gzip layers are exactly ctr's.
 */
async function containerdManifest(
  config: BuiltBlob,
  layers: { bytes: Uint8Array; compression: Compression }[],
): Promise<BuiltBlob> {
  const rt = await getRuntime();
  const layerDescs = [];
  for (const l of layers) {
    const mediaType = l.compression === "gzip"
      ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
      : l.compression === "zstd"
      ? "application/vnd.oci.image.layer.v1.tar+zstd"
      : "application/vnd.docker.image.rootfs.diff.tar";
    layerDescs.push(
      `{"mediaType":"${mediaType}","digest":"${await digestBytes(
        rt,
        l.bytes,
      )}","size":${l.bytes.byteLength}}`,
    );
  }
  const text =
    `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
    `"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"${config.descriptor.digest}","size":${config.bytes.byteLength}},` +
    `"layers":[${layerDescs.join(",")}]}`;
  return blob(text, mt.DOCKER_MANIFEST);
}

// ---------------------------------------------------------------------------------------
// Input shapes

bothStores(
  "importImages() imports an OCI layout directory, reading only what it needs",
  async ({ store }) => {
    const img = await image("dir");
    const files = layoutFiles(
      [{ descriptor: img.manifest.descriptor, refName: "v1" }],
      blobsOf(img),
    );
    files.set(`blobs/sha256/${"0".repeat(64)}`, enc.encode("an unreferenced blob, never read"));
    await withTempDir(async (dir) => {
      await writeFiles(dir, files);
      const r = await importImages(store, await sourceFromPath(dir), { now: NOW });
      assertEquals(r.format, "oci-layout");
      assertEquals(r.compression, "none");
      assertEquals(r.images, [{
        name: `${BASE}:v1`,
        digest: img.manifest.descriptor.digest,
        mediaType: mt.OCI_MANIFEST,
        size: img.manifest.descriptor.size,
      }]);
      assertEquals(r.blobs.added, 4);
      await assertHas(store, blobsOf(img));
      assertEquals((await storeDigests(store)).length, 4, "only reachable blobs are stored");
    });
  },
);

bothStores(
  "importImages() imports a docker-save folder by random access (the opener openArchive uses), with the digests of the same archive as a tar",
  async ({ store }) => {
    const img = await image("docker-dir", { docker: true });
    const files = await dockerArchiveFiles([{ image: img, repoTags: ["foo:1"] }]);
    const fromTar = await importImages(new MemoryStore(), tarSource(await tarOfFiles(files)), {
      now: NOW,
    });
    await withTempDir(async (dir) => {
      await writeFiles(dir, files);
      const r = await importImages(store, await sourceFromPath(dir), { now: NOW });
      assertEquals(r.format, "docker-archive");
      assertEquals(r.compression, "none");
      assertEquals(r.images, fromTar.images);
      assertEquals(r.entries, fromTar.entries);
      assertEquals(r.blobs, fromTar.blobs);
      await assertHas(store, [img.config]);
    });
  },
);

bothStores(
  "importImages() of a layout directory dry run reads and verifies every blob and writes nothing",
  async ({ store }) => {
    const img = await image("dir-dry");
    const files = layoutFiles(
      [{ descriptor: img.manifest.descriptor, refName: "v1" }],
      blobsOf(img),
    );
    const layer = img.layers[0].descriptor;
    const tampered = img.layers[0].bytes.slice();
    tampered[tampered.byteLength - 1] ^= 0xff;
    files.set(`blobs/sha256/${layer.digest.slice(7)}`, tampered);
    await withTempDir(async (dir) => {
      await writeFiles(dir, files);
      let refused: unknown;
      try {
        await importImages(store, await sourceFromPath(dir), { now: NOW, dryRun: true });
      } catch (e) {
        refused = e;
      }
      assert(refused instanceof Error && refused.message.includes(layer.digest.slice(7, 19)));
      assertEquals(await storeDigests(store), []);
    });
  },
);

for (const compression of ["none", "gzip", "zstd"] as const) {
  bothStores(`importImages() imports a ${compression} oci-archive`, async ({ store }) => {
    const img = await image(`oci-${compression}`);
    const files = layoutFiles(
      [{ descriptor: img.manifest.descriptor, refName: "example.com/oci:1" }],
      blobsOf(img),
    );
    const bytes = await compress(await tarOfFiles(files), compression);
    const r = await importImages(store, tarSource(bytes), { now: NOW });
    assertEquals(r.format, "oci-archive");
    assertEquals(r.compression, compression);
    assertEquals(names(r), ["example.com/oci:1"]);
    assertEquals(r.blobs, {
      added: 4,
      present: 0,
      bytes: blobsOf(img).reduce((n, b) => n + b.bytes.byteLength, 0),
    });
    await assertHas(store, blobsOf(img));
    const rec = await store.getImage("example.com/oci:1");
    assertEquals(rec.target.digest, img.manifest.descriptor.digest);
  });

  bothStores(
    `importImages() imports a ${compression} docker archive with the manifest digest containerd computes`,
    async ({ store }) => {
      const img = await image(`docker-${compression}`, { docker: true });
      const files = await dockerArchiveFiles([{ image: img, repoTags: ["foo:1"] }]);
      const bytes = await compress(await tarOfFiles(files), compression);
      const r = await importImages(store, tarSource(bytes), { now: NOW, dockerMediaTypes: true });
      assertEquals(r.format, "docker-archive");
      assertEquals(r.compression, compression);
      const manifest = await containerdManifest(
        img.config,
        img.tars.map((t) => ({ bytes: t, compression: "none" })),
      );
      assertEquals(r.images, [{
        name: "docker.io/library/foo:1",
        digest: manifest.descriptor.digest,
        mediaType: mt.DOCKER_MANIFEST,
        size: manifest.descriptor.size,
      }]);
      const stored = await readAllBytes(await store.reader(manifest.descriptor.digest), 1 << 30);
      assertEquals(new TextDecoder().decode(stored), new TextDecoder().decode(manifest.bytes));
      await assertHas(store, [img.config]);
      for (const t of img.tars) assert(await store.has(await digestBytes(await getRuntime(), t)));
    },
  );

  bothStores(
    `importImages() builds an OCI image manifest for a ${compression} docker archive by default (what skopeo's oci: transport reads)`,
    async ({ store }) => {
      const img = await image(`docker-oci-${compression}`, { docker: true });
      const files = await dockerArchiveFiles([{ image: img, repoTags: ["foo:1"] }]);
      const bytes = await compress(await tarOfFiles(files), compression);
      const r = await importImages(store, tarSource(bytes), { now: NOW });
      assertEquals(r.images.map((i) => [i.name, i.mediaType]), [
        ["docker.io/library/foo:1", mt.OCI_MANIFEST],
      ]);
      const layers = [];
      for (const t of img.tars) {
        layers.push({
          mediaType: mt.OCI_LAYER,
          digest: await digestBytes(await getRuntime(), t),
          size: t.byteLength,
        });
      }
      const expected = {
        schemaVersion: 2,
        mediaType: mt.OCI_MANIFEST,
        config: {
          mediaType: mt.OCI_CONFIG,
          digest: img.config.descriptor.digest,
          size: img.config.descriptor.size,
        },
        layers,
      };
      const stored = await readAllBytes(await store.reader(r.images[0].digest), 1 << 20);
      assertEquals(new TextDecoder().decode(stored), JSON.stringify(expected));
      assertEquals(r.images[0].digest, await digestBytes(await getRuntime(), stored));
      const [record] = await store.listImages();
      assertEquals(record.target.mediaType, mt.OCI_MANIFEST);
    },
  );
}

bothStores(
  "importImages() keeps a docker archive's compressed layers as they are (gzip → docker gzip like ctr; zstd → OCI zstd, where ctr would say gzip) in the manifest it builds",
  async ({ store }) => {
    const img = await image("mixed", { docker: true });
    const files = await dockerArchiveFiles([{ image: img, repoTags: ["mixed:1"] }]);
    const gz = await compress(img.tars[0], "gzip");
    const zst = await compress(img.tars[1], "zstd");
    files.set(`${img.diffIds[0].slice(7)}/layer.tar`, gz);
    files.set(`${img.diffIds[1].slice(7)}/layer.tar`, zst);
    const r = await importImages(store, tarSource(await tarOfFiles(files)), {
      now: NOW,
      dockerMediaTypes: true,
    });
    const manifest = await containerdManifest(img.config, [
      { bytes: gz, compression: "gzip" },
      { bytes: zst, compression: "zstd" },
    ]);
    assertEquals(r.images[0].digest, manifest.descriptor.digest);
    assertEquals(r.images[0].name, "docker.io/library/mixed:1");
  },
);

bothStores(
  "importImages() reads an archive from a stream (stdin) in odd-sized chunks",
  async ({ store }) => {
    const img = await image("stdin");
    const files = layoutFiles(
      [{ descriptor: img.manifest.descriptor, refName: "s" }],
      blobsOf(img),
    );
    const bytes = await compress(await tarOfFiles(files), "gzip");
    const source = await sourceFromPath("-", streamOf(bytes, 777));
    assertEquals(source.label, "stdin");
    let progress = 0;
    const r = await importImages(store, source, { now: NOW, onProgress: (n) => (progress = n) });
    assertEquals(names(r), [`${BASE}:s`]);
    assert(progress > 0, "progress was reported");
    await assertHas(store, blobsOf(img));
  },
);

bothStores("importImages() imports an archive file by path", async ({ store }) => {
  const img = await image("file");
  const files = layoutFiles([{ descriptor: img.manifest.descriptor, refName: "f" }], blobsOf(img));
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/image.tar.zst`, await compress(await tarOfFiles(files), "zstd"));
    const r = await importImages(store, await sourceFromPath(`${dir}/image.tar.zst`), {
      now: NOW,
      dockerMediaTypes: true,
    });
    assertEquals(r.compression, "zstd");
    assertEquals(names(r), [`${BASE}:f`]);
  });
});

for (const shape of ["oci", "docker"] as const) {
  bothStores(
    `importImages() imports a ${shape} archive whose members sit under one wrapper folder`,
    async ({ store }) => {
      const img = await image(`wrap-${shape}`, { docker: shape === "docker" });
      const files = shape === "oci"
        ? layoutFiles([{ descriptor: img.manifest.descriptor, refName: "w" }], blobsOf(img))
        : await dockerArchiveFiles([{ image: img, repoTags: ["wrapped:1"] }]);
      const r = await importImages(
        store,
        tarSource(await tarOfFiles(files, { prefix: "wrap" })),
        { now: NOW },
      );
      assertEquals(names(r), shape === "oci" ? [`${BASE}:w`] : ["docker.io/library/wrapped:1"]);
      await assertHas(store, [img.config, ...(shape === "oci" ? img.layers : [])]);
    },
  );
}

bothStores(
  "importImages() follows a docker archive's symlinked layer (docker save v1.1) to the linked bytes",
  async ({ store }) => {
    const a = await image("shared", { docker: true });
    const b = await buildImage({
      docker: true,
      layers: [
        { files: [{ path: "etc/shared", content: "first layer of shared\n" }] },
        { files: [{ path: "app/b", content: "b's own layer\n" }], compression: "none" },
      ],
    });
    assertEquals(b.diffIds[0], a.diffIds[0], "the images share their first layer");
    const files = await dockerArchiveFiles([{ image: a, repoTags: ["a:1"] }]);
    files.set(`${b.config.descriptor.digest.slice(7)}.json`, b.config.bytes);
    files.set(`bdir2/layer.tar`, b.tars[1]);
    const list = JSON.parse(new TextDecoder().decode(files.get("manifest.json")!));
    list.push({
      Config: `${b.config.descriptor.digest.slice(7)}.json`,
      RepoTags: ["b:1"],
      Layers: ["bdir1/layer.tar", "bdir2/layer.tar"],
    });
    files.set("manifest.json", enc.encode(JSON.stringify(list)));
    const tar = rawTar([
      ...membersOf(files),
      { name: "bdir1/", type: "5" },
      { name: "bdir1/layer.tar", type: "2", linkname: `../${a.diffIds[0].slice(7)}/layer.tar` },
    ]);
    const r = await importImages(store, tarSource(tar), { now: NOW, dockerMediaTypes: true });
    const mb = await containerdManifest(b.config, [
      { bytes: b.tars[0], compression: "none" },
      { bytes: b.tars[1], compression: "none" },
    ]);
    assertEquals(names(r), ["docker.io/library/a:1", "docker.io/library/b:1"]);
    assertEquals(
      r.images.find((i) => i.name === "docker.io/library/b:1")!.digest,
      mb.descriptor.digest,
    );
    const layer = await readAllBytes(await store.reader(b.diffIds[0]), 1 << 30);
    assertEquals(layer.byteLength, b.tars[0].byteLength, "the symlink's target bytes, not 0 bytes");
  },
);

bothStores(
  'importImages() imports a Docker 25 hybrid (index.json with "manifests": null plus manifest.json) through manifest.json',
  async ({ store }) => {
    const img = await image("hybrid", { docker: true, arch: "arm64" });
    const files = await dockerArchiveFiles([{ image: img, repoTags: null }]);
    files.set("oci-layout", enc.encode(`{"imageLayoutVersion": "1.0.0"}`));
    files.set(
      "index.json",
      enc.encode(`{"schemaVersion":2,"mediaType":"${mt.OCI_INDEX}","manifests":null}`),
    );
    const r = await importImages(store, tarSource(await tarOfFiles(files)), {
      now: NOW,
      dockerMediaTypes: true,
    });
    assertEquals(r.format, "docker-archive");
    assertEquals(r.images, [], "an untagged docker image gets no name");
    const withDigests = await importImages(store, tarSource(await tarOfFiles(files)), {
      now: NOW,
      digests: true,
      dockerMediaTypes: true,
    });
    const manifest = await containerdManifest(
      img.config,
      img.tars.map((t) => ({ bytes: t, compression: "none" })),
    );
    assertEquals(names(withDigests), [`${BASE}@${manifest.descriptor.digest}`]);
    assertEquals(withDigests.blobs.added, 0);
    const summary = await summarizeImage(store, await store.getImage(names(withDigests)[0]));
    assertEquals(summary.platforms, ["linux/arm64"]);
  },
);

// ---------------------------------------------------------------------------------------
// Dedupe

bothStores(
  "importImages() of the same archive twice adds nothing the second time and says so",
  async (s) => {
    const img = await image("dedupe");
    const files = layoutFiles(
      [{ descriptor: img.manifest.descriptor, refName: "example.com/d:1" }],
      blobsOf(img),
    );
    const bytes = await compress(await tarOfFiles(files), "gzip");
    const first = await importImages(s.store, tarSource(bytes), { now: NOW });
    assertEquals(first.blobs.added, 4);
    const before = s.dir ? await snapshot(s.dir) : undefined;
    const second = await importImages(s.store, tarSource(bytes), { now: NOW });
    assertEquals(second.blobs, { added: 0, present: 4, bytes: 0 });
    assertEquals(second.images, first.images);
    if (s.dir) assertEquals(await snapshot(s.dir), before, "the store's files changed");
  },
);

bothStores("importImages() of a docker archive twice adds nothing the second time", async (s) => {
  const img = await image("dedupe-docker", { docker: true });
  const bytes = await tarOfFiles(await dockerArchiveFiles([{ image: img, repoTags: ["d:2"] }]));
  const first = await importImages(s.store, tarSource(bytes), { now: NOW });
  const before = s.dir ? await snapshot(s.dir) : undefined;
  const second = await importImages(s.store, tarSource(bytes), { now: NOW });
  assertEquals(second.blobs, { added: 0, present: first.blobs.added, bytes: 0 });
  if (s.dir) assertEquals(await snapshot(s.dir), before);
});

bothStores(
  "importImages() from a layout directory twice adds nothing the second time",
  async (s) => {
    const img = await image("dedupe-dir");
    const files = layoutFiles(
      [{ descriptor: img.manifest.descriptor, refName: "x" }],
      blobsOf(img),
    );
    await withTempDir(async (dir) => {
      await writeFiles(dir, files);
      await importImages(s.store, await sourceFromPath(dir), { now: NOW });
      const before = s.dir ? await snapshot(s.dir) : undefined;
      const second = await importImages(s.store, await sourceFromPath(dir), { now: NOW });
      assertEquals(second.blobs, { added: 0, present: 4, bytes: 0 });
      if (s.dir) assertEquals(await snapshot(s.dir), before);
    });
  },
);

bothStores(
  "importImages() writes a layer shared with a stored image only once",
  async ({ store }) => {
    const a = await image("share-a");
    const b = await buildImage({
      layers: [
        { files: [{ path: "etc/share-a", content: "first layer of share-a\n" }] },
        { files: [{ path: "b", content: "b\n" }], compression: "none" },
      ],
    });
    assertEquals(a.layers[0].descriptor.digest, b.layers[0].descriptor.digest);
    await importImages(
      store,
      tarSource(
        await tarOfFiles(
          layoutFiles([{ descriptor: a.manifest.descriptor, refName: "a" }], blobsOf(a)),
        ),
      ),
      { now: NOW },
    );
    const r = await importImages(
      store,
      tarSource(
        await tarOfFiles(
          layoutFiles([{ descriptor: b.manifest.descriptor, refName: "b" }], blobsOf(b)),
        ),
      ),
      { now: NOW },
    );
    assertEquals(r.blobs.added, 3);
    assertEquals(r.blobs.present, 1);
  },
);

// ---------------------------------------------------------------------------------------
// Names (containerd 1.6 `ctr images import`, checked against the real ctr)

async function namedLayout(): Promise<{ files: Map<string, Uint8Array>; images: BuiltImage[] }> {
  const images = await Promise.all(["n1", "n2", "n3", "n4", "n5"].map((s) => image(s)));
  const entries: LayoutEntry[] = [
    { descriptor: images[0].manifest.descriptor, refName: "v1" },
    { descriptor: images[1].manifest.descriptor, refName: "docker.io/library/full:ref" },
    {
      descriptor: images[2].manifest.descriptor,
      refName: "v9",
      containerdName: "example.com/c:1",
    },
    { descriptor: images[3].manifest.descriptor, refName: "example.com/base:v2" },
    { descriptor: images[4].manifest.descriptor },
  ];
  return { files: layoutFiles(entries, images.flatMap(blobsOf)), images };
}

async function importNamed(
  options: ImportOptions,
): Promise<{ r: ImportResult; images: BuiltImage[]; files: Map<string, Uint8Array> }> {
  const { files, images } = await namedLayout();
  const r = await importImages(new MemoryStore(), tarSource(await tarOfFiles(files)), {
    now: NOW,
    ...options,
  });
  return { r, images, files };
}

Deno.test("importImages() names index.json entries like ctr: tag-only ref.name gets import-<date>, full refs are kept, io.containerd.image.name wins, unnamed entries get nothing", async () => {
  const { r, images } = await importNamed({});
  assertEquals(r.images.map((i) => [i.name, i.digest]), [
    [`${BASE}:v1`, images[0].manifest.descriptor.digest],
    ["docker.io/library/full:ref", images[1].manifest.descriptor.digest],
    ["example.com/c:1", images[2].manifest.descriptor.digest],
    ["example.com/base:v2", images[3].manifest.descriptor.digest],
  ]);
});

Deno.test("importImages() with --base-name gives tag-only refs the base and drops full refs that do not start with it (io.containerd.image.name kept)", async () => {
  const { r } = await importNamed({ baseName: "example.com/base" });
  assertEquals(r.images.map((i) => i.name), [
    "example.com/base:v1",
    "example.com/c:1",
    "example.com/base:v2",
  ]);
});

Deno.test("importImages() with --digests also names every entry <base>@<digest>", async () => {
  const { r, images } = await importNamed({ digests: true });
  const want = [
    `${BASE}:v1`,
    "docker.io/library/full:ref",
    "example.com/c:1",
    "example.com/base:v2",
    ...images.map((i) => `${BASE}@${i.manifest.descriptor.digest}`),
  ].sort();
  assertEquals(names(r), want);
  const { r: based } = await importNamed({ digests: true, baseName: "example.com/base" });
  for (const i of images) {
    assert(names(based).includes(`example.com/base@${i.manifest.descriptor.digest}`));
  }
});

Deno.test("importImages() with --digests --skip-digest-for-named names by digest only the entries without another name", async () => {
  const { r, images } = await importNamed({ digests: true, skipDigestForNamed: true });
  assertEquals(
    names(r),
    [
      `${BASE}:v1`,
      `${BASE}@${images[4].manifest.descriptor.digest}`,
      "docker.io/library/full:ref",
      "example.com/base:v2",
      "example.com/c:1",
    ].sort(),
  );
});

bothStores(
  "importImages() with --index-name names index.json itself, and stores it",
  async ({ store }) => {
    const { files } = await namedLayout();
    const indexDigest = await digestBytes(await getRuntime(), files.get("index.json")!);
    const r = await importImages(store, tarSource(await tarOfFiles(files)), {
      now: NOW,
      indexName: "example.com/all:idx",
    });
    const idx = r.images.find((i) => i.name === "example.com/all:idx");
    assertEquals(idx, {
      name: "example.com/all:idx",
      digest: indexDigest,
      mediaType: mt.OCI_INDEX,
      size: files.get("index.json")!.byteLength,
    });
    assert(await store.has(indexDigest));
  },
);

Deno.test("importImages() normalizes docker RepoTags to docker.io/... and gives an untagged image no name unless --digests", async () => {
  const a = await image("tag-a", { docker: true });
  const b = await image("tag-b", { docker: true });
  const c = await image("tag-c", { docker: true });
  const files = await dockerArchiveFiles([
    { image: a, repoTags: ["foo:1", "example.com/ns/bar:2"] },
    { image: b, repoTags: ["baz"] },
    { image: c, repoTags: null },
  ]);
  const tar = await tarOfFiles(files);
  const r = await importImages(new MemoryStore(), tarSource(tar), {
    now: NOW,
    dockerMediaTypes: true,
  });
  assertEquals(names(r), [
    "docker.io/library/baz:latest",
    "docker.io/library/foo:1",
    "example.com/ns/bar:2",
  ]);
  const mc = await containerdManifest(
    c.config,
    c.tars.map((t) => ({ bytes: t, compression: "none" as const })),
  );
  const d = await importImages(new MemoryStore(), tarSource(tar), {
    now: NOW,
    digests: true,
    dockerMediaTypes: true,
  });
  assert(names(d).includes(`${BASE}@${mc.descriptor.digest}`), names(d).join(" "));
  const base = await importImages(new MemoryStore(), tarSource(tar), {
    now: NOW,
    baseName: "example.com/ns/bar",
    dockerMediaTypes: true,
  });
  // RepoTags become io.containerd.image.name, which ctr keeps whatever --base-name says.
  assertEquals(names(base), names(r));
});

// ---------------------------------------------------------------------------------------
// Platforms

async function multiPlatform(): Promise<
  { files: Map<string, Uint8Array>; amd: BuiltImage; arm: BuiltImage; index: BuiltBlob }
> {
  const amd = await image("mp-amd", { arch: "amd64" });
  const arm = await image("mp-arm", { arch: "arm64" });
  const { buildIndex } = await import("../helpers/images.ts");
  const index = await buildIndex([amd, arm]);
  const files = layoutFiles([{ descriptor: index.descriptor, refName: "example.com/mp:1" }], [
    index,
    ...blobsOf(amd),
    ...blobsOf(arm),
  ]);
  return { files, amd, arm, index };
}

bothStores(
  "importImages() without platforms stores every platform's content",
  async ({ store }) => {
    const { files, amd, arm, index } = await multiPlatform();
    const r = await importImages(store, tarSource(await tarOfFiles(files)), { now: NOW });
    assertEquals(r.blobs.added, 9);
    await assertHas(store, [index, ...blobsOf(amd), ...blobsOf(arm)]);
    const s = await summarizeImage(store, await store.getImage("example.com/mp:1"));
    assertEquals(s.platforms, ["linux/amd64", "linux/arm64"]);
    assertEquals(s.missingPlatforms, []);
  },
);

bothStores(
  "importImages() with platforms [linux/arm64] stores only arm64 content, keeps the index, and the summary shows amd64 missing",
  async ({ store }) => {
    const { files, amd, arm, index } = await multiPlatform();
    const r = await importImages(store, tarSource(await tarOfFiles(files)), {
      now: NOW,
      platforms: [{ os: "linux", architecture: "arm64" }],
    });
    assertEquals(names(r), ["example.com/mp:1"]);
    assertEquals(r.images[0].digest, index.descriptor.digest);
    await assertHas(store, [index, ...blobsOf(arm)]);
    for (const b of blobsOf(amd)) {
      assert(!(await store.has(b.descriptor.digest)), `amd64 blob ${b.descriptor.digest} stored`);
    }
    const s = await summarizeImage(store, await store.getImage("example.com/mp:1"));
    assertEquals(s.platforms, ["linux/arm64"]);
    assertEquals(s.missingPlatforms, ["linux/amd64"]);
  },
);

bothStores(
  "importImages() with platforms matches aarch64 to arm64 (containerd normalization)",
  async ({ store }) => {
    const { files, arm } = await multiPlatform();
    await importImages(store, tarSource(await tarOfFiles(files)), {
      now: NOW,
      platforms: [{ os: "linux", architecture: "aarch64" }],
    });
    await assertHas(store, blobsOf(arm));
  },
);

Deno.test("importImages() with platforms skips a single-platform image of another platform and warns", async () => {
  const img = await image("single-amd");
  const files = layoutFiles(
    [{ descriptor: img.manifest.descriptor, refName: "one" }],
    blobsOf(img),
  );
  const store = new MemoryStore();
  const r = await importImages(store, tarSource(await tarOfFiles(files)), {
    now: NOW,
    platforms: [{ os: "linux", architecture: "arm64" }],
  });
  assertEquals(r.images, []);
  assert(r.warnings.some((w) => w.includes("linux/amd64")), r.warnings.join("; "));
  assertEquals(await storeDigests(store), []);
});

// ---------------------------------------------------------------------------------------
// Dry run

Deno.test("importImages() with dryRun writes nothing to an FsStore but reports the names and digests", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lading-dry-" });
  const store = await openFsStore(dir);
  try {
    const seed = await image("dry-seed");
    await importImages(
      store,
      tarSource(
        await tarOfFiles(
          layoutFiles([{ descriptor: seed.manifest.descriptor, refName: "seed" }], blobsOf(seed)),
        ),
      ),
      { now: NOW },
    );
    const before = await snapshot(dir);
    for (const shape of ["oci", "docker", "dir"] as const) {
      const img = await image(`dry-${shape}`, { docker: shape === "docker" });
      const files = shape === "docker"
        ? await dockerArchiveFiles([{ image: img, repoTags: ["dry:1"] }])
        : layoutFiles([{ descriptor: img.manifest.descriptor, refName: "dry" }], blobsOf(img));
      const run = async (source: ImportSource) => {
        const r = await importImages(store, source, { now: NOW, dryRun: true });
        assertEquals(names(r), [shape === "docker" ? "docker.io/library/dry:1" : `${BASE}:dry`]);
        assertEquals(r.blobs.added, shape === "docker" ? 4 : 4);
        assert(!(await store.has(img.config.descriptor.digest)));
      };
      if (shape === "dir") {
        await withTempDir(async (d) => {
          await writeFiles(d, files);
          await run(await sourceFromPath(d));
        });
      } else await run(tarSource(await tarOfFiles(files)));
      assertEquals(await snapshot(dir), before, `dry run of ${shape} changed the store`);
    }
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------
// Media types

bothStores(
  "importImages() accepts unknown media types and artifactType (an artifact manifest)",
  async ({ store }) => {
    const config = await blob("{}", "application/vnd.example.config.v1+json");
    const layer = await blob("opaque artifact bytes", "application/vnd.example.payload");
    const empty = await blob("{}", mt.OCI_EMPTY);
    const manifest = await jsonBlob(
      {
        schemaVersion: 2,
        mediaType: mt.OCI_MANIFEST,
        artifactType: "application/vnd.example.artifact",
        config: config.descriptor,
        layers: [layer.descriptor, empty.descriptor],
      },
      mt.OCI_MANIFEST,
      { artifactType: "application/vnd.example.artifact" },
    );
    const files = layoutFiles([{ descriptor: manifest.descriptor, refName: "art" }], [
      manifest,
      config,
      layer,
    ]);
    const r = await importImages(store, tarSource(await tarOfFiles(files)), { now: NOW });
    assertEquals(names(r), [`${BASE}:art`]);
    await assertHas(store, [manifest, config, layer]);
  },
);

bothStores(
  "importImages() accepts an OCI manifest descriptor over a Docker v2 body (same kind) with a warning",
  async ({ store }) => {
    const img = await image("same-kind", { docker: true });
    const entry: Descriptor = { ...img.manifest.descriptor, mediaType: mt.OCI_MANIFEST };
    const files = layoutFiles([{ descriptor: entry, refName: "sk" }], blobsOf(img));
    const warnings: string[] = [];
    const r = await importImages(store, tarSource(await tarOfFiles(files)), {
      now: NOW,
      onWarning: (w) => warnings.push(w),
    });
    assertEquals(names(r), [`${BASE}:sk`]);
    assertEquals(r.warnings, warnings);
    assert(
      warnings.some((w) =>
        w.includes(mt.DOCKER_MANIFEST) && w.includes(img.manifest.descriptor.digest)
      ),
      warnings.join("; "),
    );
    await assertHas(store, blobsOf(img));
  },
);

bothStores(
  "importImages() walks a nested index (index.json → index → manifests) and a Docker manifest list",
  async ({ store }) => {
    const { amd, arm } = await multiPlatform();
    const { buildIndex } = await import("../helpers/images.ts");
    const list = await buildIndex([amd, arm], { docker: true });
    const outer = await jsonBlob(
      { schemaVersion: 2, mediaType: mt.OCI_INDEX, manifests: [list.descriptor] },
      mt.OCI_INDEX,
    );
    const files = layoutFiles([{ descriptor: outer.descriptor, refName: "nested" }], [
      outer,
      list,
      ...blobsOf(amd),
      ...blobsOf(arm),
    ]);
    const r = await importImages(store, tarSource(await tarOfFiles(files)), { now: NOW });
    assertEquals(r.blobs.added, 10);
    assertEquals(r.images[0].digest, outer.descriptor.digest);
  },
);

Deno.test("importImages() result digests are Digest strings", async () => {
  const { r } = await importNamed({});
  for (const i of r.images) assert(/^sha256:[0-9a-f]{64}$/.test(i.digest as Digest));
});

Deno.test("the default base name is import-<date> in the local time zone, as ctr's time.Now().Format", async () => {
  const names = new URL("../../src/import/names.ts", import.meta.url).href;
  for (
    const [tz, instant, want] of [
      ["Pacific/Kiritimati", "2026-03-04T20:00:00Z", "import-2026-03-05"],
      ["America/Los_Angeles", "2026-03-04T05:00:00Z", "import-2026-03-03"],
      ["UTC", "2026-03-04T05:00:00Z", "import-2026-03-04"],
    ]
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { defaultBaseName } from "${names}"; console.log(defaultBaseName(new Date("${instant}")));`,
      ],
      env: { TZ: tz },
      stdout: "piped",
    }).output();
    assertEquals(new TextDecoder().decode(out.stdout).trim(), want, `TZ=${tz}`);
  }
});

bothStores(
  "importImages() accepts an archive that leaves out blobs the store already has",
  async ({ store }) => {
    const a = await image("partial-a");
    const b = await buildImage({
      layers: [
        { files: [{ path: "etc/partial-a", content: "first layer of partial-a\n" }] },
        { files: [{ path: "b", content: "b\n" }], compression: "none" },
      ],
    });
    await importImages(
      store,
      tarSource(
        await tarOfFiles(
          layoutFiles([{ descriptor: a.manifest.descriptor, refName: "a" }], blobsOf(a)),
        ),
      ),
      { now: NOW },
    );
    const r = await importImages(
      store,
      tarSource(
        await tarOfFiles(
          layoutFiles([{ descriptor: b.manifest.descriptor, refName: "b" }], [
            b.manifest,
            b.config,
            b.layers[1],
          ]),
        ),
      ),
      { now: NOW },
    );
    assertEquals(r.blobs, {
      added: 3,
      present: 1,
      bytes: b.manifest.bytes.byteLength + b.config.bytes.byteLength + b.layers[1].bytes.byteLength,
    });
    const s = await summarizeImage(store, await store.getImage(`${BASE}:b`));
    assertEquals(s.missing, []);
  },
);
