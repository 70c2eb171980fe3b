/**
 * Every class of bad input the importer must refuse, each built in code. Each test checks
 * the error class, that the message names the blob or member and the expected and actual
 * value, and that an on-disk store that already held one image is byte-for-byte unchanged.
 */
import { type Digest, digestBytes } from "../../src/digest.ts";
import {
  DigestMismatchError,
  InvalidInputError,
  LimitExceededError,
  MissingContentError,
  SizeMismatchError,
} from "../../src/errors.ts";
import { directorySource } from "../../src/deno/fs_source.ts";
import { importImages } from "../../src/import/mod.ts";
import type { ImportSource } from "../../src/import/source.ts";
import * as mt from "../../src/media_types.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import type { Descriptor } from "../../src/types.ts";
import { walk } from "../../src/walk.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { membersOf, type RawMember, rawTar } from "../helpers/bad_archives.ts";
import {
  blob,
  blobsOf,
  buildImage,
  type BuiltBlob,
  type BuiltImage,
  dockerArchiveFiles,
  jsonBlob,
  layoutFiles,
  tarOf,
  tarOfFiles,
} from "../helpers/images.ts";
import { seededFsStore, snapshot, tarSource, withTempDir, writeFiles } from "./_support.ts";

const enc = new TextEncoder();
const NOW = new Date("2026-03-04T12:00:00Z");
// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

function hexOf(d: string): string {
  return d.slice(d.indexOf(":") + 1);
}

function smallImage(seed = "x"): Promise<BuiltImage> {
  return buildImage({
    layers: [
      { files: [{ path: "a.txt", content: `layer one ${seed}\n` }] },
      { files: [{ path: "b.txt", content: `layer two ${seed}\n` }], compression: "none" },
    ],
  });
}

/** The files of an OCI layout holding `image` named `example.com/bad:1`. */
function layoutOf(image: BuiltImage, name = "example.com/bad:1"): Map<string, Uint8Array> {
  return layoutFiles([{ descriptor: image.manifest.descriptor, refName: name }], blobsOf(image));
}

/** A manifest for `image` with these layer descriptors instead. */
function manifestWith(
  image: BuiltImage,
  layers: Descriptor[],
  config: Descriptor = image.config.descriptor,
): Promise<BuiltBlob> {
  return jsonBlob(
    { schemaVersion: 2, mediaType: mt.OCI_MANIFEST, config, layers },
    mt.OCI_MANIFEST,
  );
}

/**
 * Imports `source` into an FsStore that already holds the demo image; expects `errorClass`
 * with a message containing every string of `includes`; checks the store did not change.
 */
async function refuses(
  source: ImportSource | ((dir: string) => Promise<ImportSource>),
  errorClass: ErrorClass,
  includes: string[],
): Promise<Error> {
  const seeded = await seededFsStore();
  try {
    const before = await snapshot(seeded.dir);
    const names = (await seeded.store.listImages()).map((r) => r.name);
    const err = await withTempDir(async (tmp) => {
      const src = typeof source === "function" ? await source(tmp) : source;
      return await assertRejects(
        () => importImages(seeded.store, src, { now: NOW }),
        // deno-lint-ignore no-explicit-any
        errorClass as any,
      );
    });
    if (Deno.env.get("SHOW_ERRORS")) console.log(`${err.name}: ${err.message}`);
    for (const part of includes) assertStringIncludes(err.message, part);
    const after = await snapshot(seeded.dir);
    assertEquals(after, before, "the store changed although the import was refused");
    assertEquals((await seeded.store.listImages()).map((r) => r.name), names);
    return err;
  } finally {
    await seeded.cleanup();
  }
}

async function archive(files: Map<string, Uint8Array>): Promise<ImportSource> {
  return tarSource(await tarOfFiles(files), "bad.tar");
}

function directory(files: Map<string, Uint8Array>): (dir: string) => Promise<ImportSource> {
  return async (dir) => {
    await writeFiles(dir, files);
    return directorySource(dir);
  };
}

// ---------------------------------------------------------------------------------------
// Blob bytes, sizes and names

Deno.test("importImages() refuses an oci-archive blob whose bytes do not hash to the digest its descriptor and file name say, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const files = layoutOf(image);
  const layer = image.layers[1].descriptor;
  const tampered = image.layers[1].bytes.slice();
  tampered[tampered.byteLength - 1] ^= 0xff; // same size, other bytes
  files.set(`blobs/sha256/${hexOf(layer.digest)}`, tampered);
  const actual = await digestBytes(await getRuntime(), tampered);
  const err = await refuses(await archive(files), DigestMismatchError, [
    `blobs/sha256/${hexOf(layer.digest)}`,
    layer.digest,
    actual,
  ]);
  assertEquals((err as DigestMismatchError).expected, layer.digest);
  assertEquals((err as DigestMismatchError).actual, actual);
});

Deno.test("importImages() refuses a layout directory whose blob file name is not the hash of its content, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const files = layoutOf(image);
  const config = image.config.descriptor;
  const other = enc.encode(new TextDecoder().decode(image.config.bytes).replace("amd64", "arm64"));
  files.set(`blobs/sha256/${hexOf(config.digest)}`, other);
  const actual = await digestBytes(await getRuntime(), other);
  const err = await refuses(directory(files), DigestMismatchError, [
    `blobs/sha256/${hexOf(config.digest)}`,
    config.digest,
    actual,
  ]);
  assertEquals((err as DigestMismatchError).actual, actual);
});

Deno.test("importImages() refuses a layout directory whose layer file (streamed, not parsed) does not hash to its name, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const files = layoutOf(image);
  const layer = image.layers[0].descriptor;
  const tampered = image.layers[0].bytes.slice();
  tampered[20] ^= 0x01;
  files.set(`blobs/sha256/${hexOf(layer.digest)}`, tampered);
  const actual = await digestBytes(await getRuntime(), tampered);
  await refuses(directory(files), DigestMismatchError, [hexOf(layer.digest), actual]);
});

Deno.test("importImages() refuses a blob whose size differs from its descriptor, naming both sizes, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const layer = image.layers[0].descriptor;
  const manifest = await manifestWith(image, [
    { ...layer, size: layer.size + 1 },
    image.layers[1].descriptor,
  ]);
  const files = layoutFiles([{ descriptor: manifest.descriptor, refName: "example.com/bad:1" }], [
    manifest,
    image.config,
    ...image.layers,
  ]);
  for (const src of [await archive(files), directory(files)]) {
    const err = await refuses(src, SizeMismatchError, [
      layer.digest,
      `has ${layer.size} bytes`,
      `says ${layer.size + 1}`,
    ]);
    assertEquals((err as SizeMismatchError).expected, layer.size + 1);
    assertEquals((err as SizeMismatchError).actual, layer.size);
  }
});

// ---------------------------------------------------------------------------------------
// Invalid digest strings

for (
  const [label, digest] of [
    ["a path traversal", "sha256:../../x"],
    ["uppercase hex", `sha256:${"AB".repeat(32)}`],
    ["the wrong length", `sha256:${"ab".repeat(31)}`],
    ["an unknown algorithm", `md5:${"ab".repeat(16)}`],
  ] as const
) {
  Deno.test(`importImages() refuses a descriptor whose digest has ${label} (${digest}) before building any path, and leaves the store unchanged`, async () => {
    const image = await smallImage();
    const manifest = await manifestWith(image, [
      { ...image.layers[0].descriptor, digest: digest as Digest },
      image.layers[1].descriptor,
    ]);
    const files = layoutFiles(
      [{ descriptor: manifest.descriptor, refName: "example.com/bad:1" }],
      [manifest, image.config, ...image.layers],
    );
    for (const src of [await archive(files), directory(files)]) {
      await refuses(src, InvalidInputError, [JSON.stringify(digest).slice(1, 12)]);
    }
  });

  Deno.test(`importImages() refuses index.json whose entry digest has ${label} (${digest}), and leaves the store unchanged`, async () => {
    const image = await smallImage();
    const files = layoutFiles(
      [{ descriptor: { ...image.manifest.descriptor, digest: digest as Digest } }],
      blobsOf(image),
    );
    for (const src of [await archive(files), directory(files)]) {
      await refuses(src, InvalidInputError, ["index.json", digest.slice(0, 10)]);
    }
  });
}

for (
  const [label, path] of [
    ["uppercase hex", `blobs/sha256/${"AB".repeat(32)}`],
    ["the wrong length", `blobs/sha256/${"ab".repeat(31)}`],
    ["an unknown algorithm", `blobs/md5/${"ab".repeat(16)}`],
  ] as const
) {
  Deno.test(`importImages() refuses an archive with a blob file named by ${label} (${path}), and leaves the store unchanged`, async () => {
    const image = await smallImage();
    const files = layoutOf(image);
    files.set(path, enc.encode("whatever"));
    await refuses(await archive(files), InvalidInputError, [path, "not named by a valid digest"]);
  });
}

Deno.test("importImages() refuses a blob member whose name leaves blobs/ with '..' (blobs/sha256/../../x)", async () => {
  const image = await smallImage();
  const members: RawMember[] = [
    ...membersOf(layoutOf(image)),
    { name: "blobs/sha256/../../x", body: "escape" },
  ];
  await refuses(tarSource(rawTar(members)), InvalidInputError, ["blobs/sha256/../../x", ".."]);
});

// ---------------------------------------------------------------------------------------
// Missing content

Deno.test("importImages() refuses an image with missing blobs, listing every missing digest and the image it belongs to, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const files = layoutOf(image, "example.com/partial:1");
  files.delete(`blobs/sha256/${hexOf(image.config.descriptor.digest)}`);
  files.delete(`blobs/sha256/${hexOf(image.layers[1].descriptor.digest)}`);
  for (const src of [await archive(files), directory(files)]) {
    const err = await refuses(src, MissingContentError, [
      image.config.descriptor.digest,
      image.layers[1].descriptor.digest,
      "example.com/partial:1",
      "2 blobs",
    ]);
    const missing = (err as MissingContentError).missing;
    assertEquals(
      missing.map((m) => m.digest).sort(),
      [image.config.descriptor.digest, image.layers[1].descriptor.digest].sort(),
    );
    for (const m of missing) assertEquals(m.image, "example.com/partial:1");
  }
});

Deno.test("importImages() lists missing blobs of two images, each with its own image name", async () => {
  const a = await smallImage("a");
  const b = await smallImage("b");
  const files = layoutFiles([
    { descriptor: a.manifest.descriptor, refName: "example.com/a:1" },
    { descriptor: b.manifest.descriptor, refName: "v2" },
  ], [...blobsOf(a), ...blobsOf(b)]);
  files.delete(`blobs/sha256/${hexOf(a.layers[0].descriptor.digest)}`);
  files.delete(`blobs/sha256/${hexOf(b.layers[1].descriptor.digest)}`);
  const err = await refuses(await archive(files), MissingContentError, [
    `${a.layers[0].descriptor.digest} (${a.layers[0].descriptor.mediaType}) of example.com/a:1`,
    `${b.layers[1].descriptor.digest} (${
      b.layers[1].descriptor.mediaType
    }) of import-2026-03-04:v2`,
  ]);
  assertEquals((err as MissingContentError).missing.length, 2);
});

// ---------------------------------------------------------------------------------------
// Documents

Deno.test("importImages() refuses a manifest descriptor whose body is an index (kind confusion), and leaves the store unchanged", async () => {
  const image = await smallImage();
  const index = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: [{ ...image.manifest.descriptor, platform: image.platform }],
  }, mt.OCI_INDEX);
  const files = layoutFiles(
    [{ descriptor: { ...index.descriptor, mediaType: mt.OCI_MANIFEST }, refName: "confused" }],
    [index, ...blobsOf(image)],
  );
  for (const src of [await archive(files), directory(files)]) {
    await refuses(src, InvalidInputError, [index.descriptor.digest, "manifest", "index"]);
  }
});

Deno.test("importImages() refuses an index descriptor whose body is a manifest (kind confusion), and leaves the store unchanged", async () => {
  const image = await smallImage();
  const files = layoutFiles(
    [{
      descriptor: { ...image.manifest.descriptor, mediaType: mt.OCI_INDEX },
      refName: "confused",
    }],
    blobsOf(image),
  );
  for (const src of [await archive(files), directory(files)]) {
    await refuses(src, InvalidInputError, [image.manifest.descriptor.digest, "index"]);
  }
});

Deno.test("importImages() refuses a manifest body that carries 'manifests' under a manifest descriptor, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const manifest = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: image.config.descriptor,
    layers: image.layers.map((l) => l.descriptor),
    manifests: [],
  }, mt.OCI_MANIFEST);
  const files = layoutFiles([{ descriptor: manifest.descriptor, refName: "confused" }], [
    manifest,
    image.config,
    ...image.layers,
  ]);
  await refuses(await archive(files), InvalidInputError, [manifest.descriptor.digest, "manifests"]);
});

Deno.test("importImages() refuses a JSON document over the 4 MiB cap, naming it and the limit, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const manifest = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: image.config.descriptor,
    layers: image.layers.map((l) => l.descriptor),
    annotations: { padding: "x".repeat(4 * 1024 * 1024 + 16) },
  }, mt.OCI_MANIFEST);
  const files = layoutFiles([{ descriptor: manifest.descriptor, refName: "big" }], [
    manifest,
    image.config,
    ...image.layers,
  ]);
  for (const src of [await archive(files), directory(files)]) {
    await refuses(src, LimitExceededError, [hexOf(manifest.descriptor.digest), "4194304"]);
  }
});

Deno.test("importImages() refuses an index.json over the 4 MiB cap", async () => {
  const image = await smallImage();
  const files = layoutFiles([{
    descriptor: {
      ...image.manifest.descriptor,
      annotations: { padding: "y".repeat(4 * 1024 * 1024 + 16) },
    },
    refName: "big",
  }], blobsOf(image));
  for (const src of [await archive(files), directory(files)]) {
    await refuses(src, LimitExceededError, ["index.json"]);
  }
});

Deno.test("importImages() refuses a manifest with duplicate object keys, naming the key, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const text = JSON.stringify({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: image.config.descriptor,
    layers: image.layers.map((l) => l.descriptor),
  }).replace(`"layers":`, `"config":${JSON.stringify(image.layers[0].descriptor)},"layers":`);
  const manifest = await blob(text, mt.OCI_MANIFEST);
  const files = layoutFiles([{ descriptor: manifest.descriptor, refName: "dup" }], [
    manifest,
    image.config,
    ...image.layers,
  ]);
  for (const src of [await archive(files), directory(files)]) {
    await refuses(src, InvalidInputError, [manifest.descriptor.digest, "duplicate", "config"]);
  }
});

Deno.test("importImages() refuses a config with duplicate keys", async () => {
  const image = await smallImage();
  const configText = new TextDecoder().decode(image.config.bytes).replace(
    `"os":"linux"`,
    `"os":"linux","os":"windows"`,
  );
  const config = await blob(configText, mt.OCI_CONFIG);
  const manifest = await manifestWith(
    image,
    image.layers.map((l) => l.descriptor),
    config.descriptor,
  );
  const files = layoutFiles([{ descriptor: manifest.descriptor, refName: "dup" }], [
    manifest,
    config,
    ...image.layers,
  ]);
  await refuses(await archive(files), InvalidInputError, [config.descriptor.digest, "duplicate"]);
});

Deno.test("importImages() refuses a descriptor whose 'data' decodes to other bytes than the blob, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const same = image.config.bytes.slice();
  same[same.byteLength - 2] ^= 0x01; // same length, other bytes
  const wrong = btoa(String.fromCharCode(...same));
  const manifest = await manifestWith(
    image,
    image.layers.map((l) => l.descriptor),
    { ...image.config.descriptor, data: wrong },
  );
  const files = layoutFiles([{ descriptor: manifest.descriptor, refName: "data" }], [
    manifest,
    image.config,
    ...image.layers,
  ]);
  for (const src of [await archive(files), directory(files)]) {
    await refuses(src, InvalidInputError, [
      image.config.descriptor.digest,
      "of import-2026-03-04:data",
      "data",
      `the data hashes to ${await digestBytes(await getRuntime(), same)}`,
    ]);
  }
});

// ---------------------------------------------------------------------------------------
// Index graphs

Deno.test("walk() refuses an index cycle (index → index → first index), naming the chain", async () => {
  const a: Descriptor = { mediaType: mt.OCI_INDEX, digest: `sha256:${"a".repeat(64)}`, size: 1 };
  const b: Descriptor = { mediaType: mt.OCI_INDEX, digest: `sha256:${"b".repeat(64)}`, size: 1 };
  const children = new Map<string, Descriptor[]>([[a.digest, [b]], [b.digest, [a]]]);
  const err = await assertRejects(
    () => walk([a], (d) => Promise.resolve(children.get(d.digest) ?? [])),
    InvalidInputError,
    "index cycle",
  );
  assertStringIncludes(err.message, "aaaaaaaaaaaa");
  assertStringIncludes(err.message, "bbbbbbbbbbbb");
});

Deno.test("importImages() refuses an index cycle (index → index → first index): the back reference cannot hash, so the import stops at the first blob that does not match its name, and the store is unchanged", async () => {
  // A real cycle is impossible with content addressing: index A names index B and B names
  // A, so one of them must claim a digest its bytes do not have. Make A's claimed digest
  // the one B points at, and store A's bytes under that name.
  const claimedA = `sha256:${"c".repeat(64)}` as Digest;
  const indexB = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: [{ mediaType: mt.OCI_INDEX, digest: claimedA, size: 0 }],
  }, mt.OCI_INDEX);
  const indexAText = JSON.stringify({
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: [indexB.descriptor],
  });
  const aBytes = enc.encode(indexAText);
  // Fix the size of A's descriptor in B: rebuild B with the right size.
  const indexB2 = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: [{ mediaType: mt.OCI_INDEX, digest: claimedA, size: aBytes.byteLength }],
  }, mt.OCI_INDEX);
  const aBytes2 = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: [indexB2.descriptor],
  }));
  const files = layoutFiles(
    [{
      descriptor: { mediaType: mt.OCI_INDEX, digest: claimedA, size: aBytes2.byteLength },
      refName: "cycle",
    }],
    [indexB2],
  );
  files.set(`blobs/sha256/${hexOf(claimedA)}`, aBytes2);
  void indexB;
  for (const src of [await archive(files), directory(files)]) {
    await refuses(src, DigestMismatchError, [hexOf(claimedA)]);
  }
});

Deno.test("importImages() refuses indexes nested deeper than the walk's cap (20 levels, cap 16), and leaves the store unchanged", async () => {
  const image = await smallImage();
  const blobs: BuiltBlob[] = [...blobsOf(image)];
  let top: Descriptor = { ...image.manifest.descriptor, platform: image.platform };
  for (let i = 0; i < 20; i++) {
    const index = await jsonBlob(
      { schemaVersion: 2, mediaType: mt.OCI_INDEX, manifests: [top] },
      mt.OCI_INDEX,
    );
    blobs.push(index);
    top = index.descriptor;
  }
  const files = layoutFiles([{ descriptor: top, refName: "deep" }], blobs);
  for (const src of [await archive(files), directory(files)]) {
    await refuses(src, LimitExceededError, ["nesting deeper than 16", "import-2026-03-04:deep"]);
  }
});

Deno.test("importImages() accepts indexes nested 15 levels deep (under the cap)", async () => {
  const image = await smallImage();
  const blobs: BuiltBlob[] = [...blobsOf(image)];
  let top: Descriptor = { ...image.manifest.descriptor, platform: image.platform };
  for (let i = 0; i < 15; i++) {
    const index = await jsonBlob(
      { schemaVersion: 2, mediaType: mt.OCI_INDEX, manifests: [top] },
      mt.OCI_INDEX,
    );
    blobs.push(index);
    top = index.descriptor;
  }
  const seeded = await seededFsStore();
  try {
    const r = await importImages(
      seeded.store,
      await archive(layoutFiles([{ descriptor: top, refName: "deep" }], blobs)),
      { now: NOW },
    );
    assertEquals(r.images.map((i) => i.name), ["import-2026-03-04:deep"]);
  } finally {
    await seeded.cleanup();
  }
});

// ---------------------------------------------------------------------------------------
// Tar structure

async function goodLayoutTar(): Promise<{ bytes: Uint8Array; image: BuiltImage }> {
  const image = await smallImage();
  return { bytes: await tarOfFiles(layoutOf(image)), image };
}

Deno.test("importImages() refuses a tar truncated inside a member, and leaves the store unchanged", async () => {
  const { bytes, image } = await goodLayoutTar();
  // Cut in the middle of the last layer's body.
  const hex = hexOf(image.layers[1].descriptor.digest);
  const at = findMember(bytes, `blobs/sha256/${hex}`);
  const cut = bytes.slice(0, at + 512 + 100);
  await refuses(tarSource(cut), InvalidInputError, ["truncated", hex]);
});

Deno.test("importImages() refuses a tar truncated inside a header", async () => {
  const { bytes } = await goodLayoutTar();
  const at = findMember(bytes, "index.json");
  await refuses(tarSource(bytes.slice(0, at + 300)), InvalidInputError, ["truncated"]);
});

Deno.test("importImages() refuses a gzip-compressed tar whose compressed stream is cut short", async () => {
  const { bytes } = await goodLayoutTar();
  const { compress } = await import("../helpers/images.ts");
  const gz = await compress(bytes, "gzip");
  const seeded = await seededFsStore();
  try {
    const before = await snapshot(seeded.dir);
    await assertRejects(() =>
      importImages(seeded.store, tarSource(gz.slice(0, gz.byteLength - 40)), { now: NOW })
    );
    assertEquals(await snapshot(seeded.dir), before);
  } finally {
    await seeded.cleanup();
  }
});

/** Offset of the header of the member with this name. */
function findMember(tar: Uint8Array, name: string): number {
  const want = enc.encode(name + "\0");
  for (let at = 0; at + 512 <= tar.byteLength; at += 512) {
    if (want.every((b, i) => tar[at + i] === b)) return at;
  }
  throw new Error(`no member ${name}`);
}

Deno.test("importImages() refuses a tar with a bad header checksum, naming the byte offset, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const members = membersOf(layoutOf(image));
  members[1] = { ...members[1], badChecksum: true };
  const offset = 512 + Math.ceil((members[0].body as Uint8Array).byteLength / 512) * 512;
  await refuses(tarSource(rawTar(members)), InvalidInputError, [
    "checksum",
    `byte ${offset}`,
  ]);
});

Deno.test("importImages() refuses duplicate tar members with different bytes, naming the member and both digests, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const files = layoutOf(image);
  const index = files.get("index.json")!;
  const other = enc.encode(new TextDecoder().decode(index).replace("example.com/bad:1", "other:2"));
  const members = [...membersOf(files), { name: "index.json", body: other }];
  const [d1, d2] = [
    await digestBytes(await getRuntime(), index),
    await digestBytes(await getRuntime(), other),
  ];
  await refuses(tarSource(rawTar(members)), InvalidInputError, [
    "index.json",
    "twice",
    d1.slice(0, 19),
    d2.slice(0, 19),
  ]);
});

Deno.test("importImages() accepts duplicate tar members with identical bytes", async () => {
  const image = await smallImage();
  const files = layoutOf(image);
  const members = [...membersOf(files), { name: "index.json", body: files.get("index.json")! }];
  const seeded = await seededFsStore();
  try {
    const r = await importImages(seeded.store, tarSource(rawTar(members)), { now: NOW });
    assertEquals(r.images.map((i) => i.name), ["example.com/bad:1"]);
  } finally {
    await seeded.cleanup();
  }
});

for (const name of ["../evil", "blobs/../../evil", "./a/../../evil"]) {
  Deno.test(`importImages() refuses a tar member named ${JSON.stringify(name)} (leaves the archive), and leaves the store unchanged`, async () => {
    const image = await smallImage();
    const members = [{ name, body: "x" }, ...membersOf(layoutOf(image))];
    await refuses(tarSource(rawTar(members)), InvalidInputError, [JSON.stringify(name), ".."]);
  });
}

Deno.test("importImages() refuses an absolute tar member name, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const members = [...membersOf(layoutOf(image)), { name: "/etc/evil", body: "x" }];
  await refuses(tarSource(rawTar(members)), InvalidInputError, ['"/etc/evil"', "absolute"]);
});

Deno.test("importImages() refuses a sparse member (typeflag 'S'), naming it, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const members = [...membersOf(layoutOf(image)), { name: "sparse.bin", type: "S", body: "abc" }];
  await refuses(tarSource(rawTar(members)), InvalidInputError, ["sparse", "sparse.bin"]);
});

Deno.test("importImages() refuses a sparse member announced by GNU.sparse PAX records, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const members = [
    ...membersOf(layoutOf(image)),
    {
      name: "GNUSparseFile.0/data",
      body: "abc",
      pax: { "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "data" },
    },
  ];
  await refuses(tarSource(rawTar(members)), InvalidInputError, ["sparse"]);
});

Deno.test("importImages() refuses a tar that is not a tar (garbage bytes)", async () => {
  const garbage = new Uint8Array(4096).map((_, i) => (i * 7 + 3) & 0xff);
  await refuses(tarSource(garbage, "garbage.bin"), InvalidInputError, [
    "garbage.bin",
    "checksum",
    "byte 0",
  ]);
});

Deno.test("importImages() refuses a tar with neither oci-layout nor manifest.json (a bare layer)", async () => {
  const layer = await tarOf([{ path: "etc/hosts", content: "127.0.0.1 localhost\n" }]);
  await refuses(tarSource(layer), InvalidInputError, ["not an image archive"]);
});

// ---------------------------------------------------------------------------------------
// docker archives

async function dockerFiles(): Promise<{ files: Map<string, Uint8Array>; image: BuiltImage }> {
  const image = await buildImage({
    docker: true,
    layers: [{ files: [{ path: "hello", content: "hello\n" }], compression: "none" }],
  });
  return { files: await dockerArchiveFiles([{ image, repoTags: ["bad:1"] }]), image };
}

function setManifestJson(files: Map<string, Uint8Array>, edit: (m: { Layers: string[] }) => void) {
  const list = JSON.parse(new TextDecoder().decode(files.get("manifest.json")!));
  edit(list[0]);
  files.set("manifest.json", enc.encode(JSON.stringify(list)));
}

Deno.test("importImages() refuses a docker manifest.json whose layer path points outside the archive, and leaves the store unchanged", async () => {
  const { files } = await dockerFiles();
  setManifestJson(files, (m) => (m.Layers = ["../outside/layer.tar"]));
  await refuses(await archive(files), InvalidInputError, [
    '"../outside/layer.tar"',
    "outside the archive",
  ]);
});

Deno.test("importImages() refuses a docker manifest.json with an absolute layer path", async () => {
  const { files } = await dockerFiles();
  setManifestJson(files, (m) => (m.Layers = ["/etc/passwd"]));
  await refuses(await archive(files), InvalidInputError, ['"/etc/passwd"', "absolute"]);
});

Deno.test("importImages() refuses a docker layer that is a symlink pointing outside the archive", async () => {
  const { files, image } = await dockerFiles();
  const layerPath = `${image.diffIds[0].slice(7)}/layer.tar`;
  files.delete(layerPath);
  const members: RawMember[] = [
    ...membersOf(files),
    { name: layerPath, type: "2", linkname: "../../../etc/passwd" },
  ];
  await refuses(tarSource(rawTar(members)), InvalidInputError, [layerPath, "outside the archive"]);
});

Deno.test("importImages() refuses a docker layer that is a symlink loop, naming it, and leaves the store unchanged", async () => {
  const { files, image } = await dockerFiles();
  const layerPath = `${image.diffIds[0].slice(7)}/layer.tar`;
  files.delete(layerPath);
  const members: RawMember[] = [
    ...membersOf(files),
    { name: layerPath, type: "2", linkname: "../loop/b.tar" },
    { name: "loop/b.tar", type: "2", linkname: `../${layerPath}` },
  ];
  await refuses(tarSource(rawTar(members)), InvalidInputError, [layerPath, "loop"]);
});

Deno.test("importImages() refuses a docker archive whose manifest.json names a file that is absent, naming it", async () => {
  const { files, image } = await dockerFiles();
  const layerPath = `${image.diffIds[0].slice(7)}/layer.tar`;
  files.delete(layerPath);
  await refuses(await archive(files), InvalidInputError, [layerPath]);
});

Deno.test("importImages() refuses a docker uncompressed layer that does not hash to its config's diff_id, naming both, and leaves the store unchanged", async () => {
  const { files, image } = await dockerFiles();
  const layerPath = `${image.diffIds[0].slice(7)}/layer.tar`;
  const other = await tarOf([{ path: "hello", content: "HELLO\n" }]);
  files.set(layerPath, other);
  const actual = await digestBytes(await getRuntime(), other);
  await refuses(await archive(files), InvalidInputError, [
    layerPath,
    actual,
    image.diffIds[0],
    "diff_id",
  ]);
});

Deno.test("importImages() refuses a docker manifest.json over the JSON cap", async () => {
  const { files } = await dockerFiles();
  const list = JSON.parse(new TextDecoder().decode(files.get("manifest.json")!));
  list[0].Padding = "z".repeat(4 * 1024 * 1024);
  files.set("manifest.json", enc.encode(JSON.stringify(list)));
  await refuses(await archive(files), LimitExceededError, ["manifest.json"]);
});

Deno.test("importImages() refuses a docker manifest.json with duplicate keys", async () => {
  const { files } = await dockerFiles();
  const text = new TextDecoder().decode(files.get("manifest.json")!).replace(
    `"RepoTags":`,
    `"RepoTags":["x:1"],"RepoTags":`,
  );
  files.set("manifest.json", enc.encode(text));
  await refuses(await archive(files), InvalidInputError, ["manifest.json", "RepoTags"]);
});

Deno.test("refused imports leave no ingest file, lease or temporary index behind", async () => {
  const image = await smallImage();
  const files = layoutOf(image);
  files.delete(`blobs/sha256/${hexOf(image.layers[0].descriptor.digest)}`);
  const seeded = await seededFsStore();
  try {
    await assertRejects(() => archive(files).then((s) => importImages(seeded.store, s)));
    for (const sub of ["ingest", "leases"]) {
      const left: string[] = [];
      try {
        for await (const e of Deno.readDir(`${seeded.dir}/${sub}`)) left.push(e.name);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      assertEquals(left, [], `${sub}/ is not empty`);
    }
    for await (const e of Deno.readDir(seeded.dir)) {
      assert(!e.name.startsWith("index.json.tmp"), `left ${e.name}`);
    }
  } finally {
    await seeded.cleanup();
  }
});

Deno.test("importImages() refuses a layout directory whose blob file is a symlink leaving the layout, and leaves the store unchanged", async () => {
  const image = await smallImage();
  const files = layoutOf(image);
  const hex = hexOf(image.layers[0].descriptor.digest);
  files.delete(`blobs/sha256/${hex}`);
  await refuses(
    async (dir) => {
      await writeFiles(`${dir}/layout`, files);
      await Deno.writeFile(`${dir}/outside`, image.layers[0].bytes);
      await Deno.symlink("../../../outside", `${dir}/layout/blobs/sha256/${hex}`);
      return directorySource(`${dir}/layout`);
    },
    InvalidInputError,
    [hex, "leaves the layout"],
  );
});

Deno.test("importImages() refuses an input stream that fails midway (a read error), and leaves the store unchanged", async () => {
  const { bytes } = await goodLayoutTar();
  let sent = 0;
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes.byteLength / 2) {
        controller.error(new Deno.errors.ConnectionReset("connection reset by peer"));
        return;
      }
      controller.enqueue(bytes.slice(sent, sent + 1024));
      sent += 1024;
    },
  });
  await refuses(
    { kind: "stream", label: "net.tar", stream: failing },
    Deno.errors.ConnectionReset,
    ["connection reset"],
  );
});

Deno.test("importImages() refuses an index whose other platform's blobs are absent unless platforms excludes them", async () => {
  const amd = await smallImage("amd");
  const arm = await buildImage({
    platform: { os: "linux", architecture: "arm64" },
    layers: [{ files: [{ path: "arm", content: "arm" }] }],
  });
  const { buildIndex } = await import("../helpers/images.ts");
  const index = await buildIndex([amd, arm]);
  const files = layoutFiles([{ descriptor: index.descriptor, refName: "example.com/mp:1" }], [
    index,
    ...blobsOf(arm),
  ]);
  const err = await refuses(await archive(files), MissingContentError, [
    amd.manifest.descriptor.digest,
    "example.com/mp:1",
  ]);
  assertEquals((err as MissingContentError).missing.length, 1, "only the manifest is listed");
  const seeded = await seededFsStore();
  try {
    const r = await importImages(seeded.store, await archive(files), {
      now: NOW,
      platforms: [{ os: "linux", architecture: "arm64" }],
    });
    assertEquals(r.images.map((i) => i.name), ["example.com/mp:1"]);
  } finally {
    await seeded.cleanup();
  }
});
