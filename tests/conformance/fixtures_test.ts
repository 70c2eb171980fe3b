/**
 * Imports every OCI layout and docker/oci archive of `../shared/fixtures` (go-containerregistry's
 * test data) and checks lading's verdict for each (fixtures/README.md, including the
 * "lading's verdicts" section). Digests come from layouts.json / archives.json; docker
 * manifest digests are rebuilt here the way containerd 1.6 builds them.
 *
 * Skipped (visibly) when the corpus is absent; fails then when `CI=true`. The fixture
 * files are read in place and never copied into the repository.
 */
import { type Digest, digestBytes } from "../../src/digest.ts";
import { InvalidInputError, MissingContentError } from "../../src/errors.ts";
import { sourceFromPath } from "../../src/deno/fs_source.ts";
import { importImages, type ImportOptions, type ImportResult } from "../../src/import/mod.ts";
import { summarizeImage } from "../../src/image.ts";
import * as mt from "../../src/media_types.ts";
import { normalizeReference } from "../../src/reference.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import { readAllBytes } from "../../src/store/blob.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Store } from "../../src/store/types.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";

const CORPUS = new URL("../../../shared/fixtures/", import.meta.url);
const NOW = new Date("2026-03-04T12:00:00Z");
const BASE = "import-2026-03-04";

interface LayoutFacts {
  path: string;
  expect: string;
  facts: {
    blobCount: number;
    indexManifests: {
      mediaType: string;
      digest: Digest;
      size: number;
      refName?: string;
      blobMissing?: boolean;
    }[];
    unreferencedBlobs: Digest[];
  };
}

interface ArchiveLayer {
  path: string;
  compression: "none" | "gzip" | "zstd";
  bytes: number;
  fileSha256: Digest;
  diffID: Digest;
  symlinkTo: string | null;
}

interface ArchiveFacts {
  path: string;
  kind: string;
  expect: string;
  facts: {
    images?: {
      repoTags: string[] | null;
      configDigest: Digest;
      platform: string;
      layers: ArchiveLayer[];
    }[];
  };
}

function corpusPresent(): boolean {
  try {
    return Deno.statSync(new URL("layouts/layouts.json", CORPUS)).isFile &&
      Deno.statSync(new URL("archives/archives.json", CORPUS)).isFile;
  } catch {
    return false;
  }
}

function pathOf(rel: string): string {
  return decodeURIComponent(new URL(rel, CORPUS).pathname);
}

async function importFixture(
  rel: string,
  options: ImportOptions = {},
  store: Store = new MemoryStore(),
): Promise<{ store: Store; result: ImportResult }> {
  // Docker archives: containerd's manifests, whose digests these tests compare with ctr's.
  const result = await importImages(store, await sourceFromPath(pathOf(rel)), {
    now: NOW,
    dockerMediaTypes: true,
    ...options,
  });
  return { store, result };
}

async function storedDigests(store: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const b of store.list()) out.push(b.digest);
  return out.sort();
}

/** The docker schema 2 manifest containerd 1.6 writes for one docker-save entry. */
async function containerdManifestDigest(
  store: Store,
  image: NonNullable<ArchiveFacts["facts"]["images"]>[number],
): Promise<Digest> {
  const config = await store.info(image.configDigest);
  const layers = image.layers.map((l) => {
    const mediaType = l.compression === "gzip"
      ? mt.DOCKER_LAYER_GZIP
      : l.compression === "zstd"
      ? mt.OCI_LAYER_ZSTD
      : mt.DOCKER_LAYER;
    return `{"mediaType":"${mediaType}","digest":"${l.fileSha256}","size":${l.bytes}}`;
  });
  const text =
    `{"schemaVersion":2,"mediaType":"${mt.DOCKER_MANIFEST}","config":{"mediaType":"${mt.DOCKER_CONFIG}","digest":"${image.configDigest}","size":${config.size}},"layers":[${
      layers.join(",")
    }]}`;
  return digestBytes(await getRuntime(), new TextEncoder().encode(text));
}

if (!corpusPresent()) {
  const where = decodeURIComponent(CORPUS.pathname);
  console.log(`skipped: corpus not found at ${where}`);
  Deno.test({
    name: "fixture corpus is present (required when CI=true)",
    ignore: Deno.env.get("CI") !== "true",
    fn() {
      throw new Error(`corpus not found at ${where}`);
    },
  });
} else {
  const layouts = (JSON.parse(
    Deno.readTextFileSync(new URL("layouts/layouts.json", CORPUS)),
  ) as { layouts: LayoutFacts[] }).layouts;
  const archives = (JSON.parse(
    Deno.readTextFileSync(new URL("archives/archives.json", CORPUS)),
  ) as { archives: ArchiveFacts[] }).archives;
  const layout = (name: string) => layouts.find((l) => l.path === `layouts/${name}`)!;
  const archive = (path: string) => archives.find((a) => a.path === `archives/${path}`)!;

  Deno.test("the fixture corpus lists 5 layouts and 16 archives, and this suite has a verdict for each", () => {
    assertEquals(layouts.length, 5);
    assertEquals(archives.length, 16);
    for (const l of layouts) {
      assert(LAYOUT_VERDICTS.has(l.path.slice(8)), `no verdict for ${l.path}`);
    }
    for (const a of archives) {
      assert(ARCHIVE_VERDICTS.has(a.path.slice(9)), `no verdict for ${a.path}`);
    }
  });

  // -------------------------------------------------------------------------------------
  // Layouts

  const LAYOUT_VERDICTS = new Set([
    "test_index",
    "test_gc_index",
    "test_gc_image_unknown_mediatype",
    "test_index_one_image",
    "test_index_media_type",
  ]);

  for (const name of ["test_index", "test_gc_index"]) {
    Deno.test(`fixture layouts/${name} imports with a same-kind media type warning, every ref.name named with its digest`, async () => {
      const facts = layout(name);
      const { store, result } = await importFixture(`layouts/${name}`);
      assert(
        result.warnings.some((w) =>
          w.includes("sha256:eebff607b1628d67459b0596643fc07de70d702eccf030f0bc7bb6fc2b278650") &&
          w.includes(mt.DOCKER_MANIFEST)
        ),
        `no warning about the Docker v2 body: ${result.warnings.join("; ")}`,
      );
      assertEquals(
        result.images.map((i) => [i.name, i.digest, i.mediaType]),
        facts.facts.indexManifests.map((m) => [`${BASE}:${m.refName}`, m.digest, m.mediaType]),
      );
      const stored = await storedDigests(store);
      for (const u of facts.facts.unreferencedBlobs) {
        if (name === "test_gc_index") assert(!stored.includes(u), `unreferenced ${u} was stored`);
      }
      // test_index: the blobs behind ref 2 (a bare descriptor type) are reached by sniffing
      // its body, so all 8 blobs are stored; test_gc_index: all but the unreferenced one.
      assertEquals(
        stored.length,
        name === "test_index" ? facts.facts.blobCount : facts.facts.blobCount - 1,
      );
      for (const record of await store.listImages()) {
        assertEquals((await summarizeImage(store, record)).missing, []);
      }
    });
  }

  Deno.test("fixture layouts/test_gc_image_unknown_mediatype (no blobs/) is refused, listing its one missing blob", async () => {
    const facts = layout("test_gc_image_unknown_mediatype");
    const missing = facts.facts.indexManifests[0];
    assert(missing.blobMissing);
    const store = new MemoryStore();
    const err = await assertRejects(
      () => importFixture("layouts/test_gc_image_unknown_mediatype", {}, store),
      MissingContentError,
    );
    assertStringIncludes(err.message, missing.digest);
    assertEquals(err.missing.map((m) => m.digest), [missing.digest]);
    assertEquals(await storedDigests(store), []);
    assertEquals(await store.listImages(), []);
  });

  Deno.test("fixture layouts/test_index_one_image imports one unnamed linux/amd64 image (named by digest with --digests)", async () => {
    const facts = layout("test_index_one_image");
    const plain = await importFixture("layouts/test_index_one_image");
    assertEquals(plain.result.images, []);
    assertEquals((await storedDigests(plain.store)).length, facts.facts.blobCount);
    const { store, result } = await importFixture("layouts/test_index_one_image", {
      digests: true,
    });
    const m = facts.facts.indexManifests[0];
    assertEquals(result.images.map((i) => i.name), [`${BASE}@${m.digest}`]);
    const s = await summarizeImage(store, await store.getImage(`${BASE}@${m.digest}`));
    assertEquals(s.platforms, ["linux/amd64"]);
    assertEquals(s.missing, []);
  });

  Deno.test("fixture layouts/test_index_media_type (Helm-style artifact, no manifest mediaType) imports with its unknown media types", async () => {
    const facts = layout("test_index_media_type");
    const { store, result } = await importFixture("layouts/test_index_media_type", {
      digests: true,
    });
    const m = facts.facts.indexManifests[0];
    assertEquals(result.images.map((i) => i.digest), [m.digest]);
    assertEquals((await storedDigests(store)).length, facts.facts.blobCount);
    const manifest = JSON.parse(
      new TextDecoder().decode(await readAllBytes(await store.reader(m.digest), 1 << 20)),
    );
    assertEquals(manifest.layers[0].mediaType, "application/tar+gzip");
    assertEquals(manifest.config.mediaType, "application/vnd.cncf.helm.config.v1+json");
  });

  // -------------------------------------------------------------------------------------
  // Archives

  const ARCHIVE_VERDICTS = new Set([
    "tarball/content.tar",
    "crane/content.tar",
    "crane/content.tar.zst",
    "tarball/no_manifest.tar",
    "tarball/null_manifest.tar",
    "tarball/hello-world-v25.tar",
    "tarball/test_bundle.tar",
    "tarball/test_image_1.tar",
    "tarball/test_image_2.tar",
    "tarball/test_link.tar",
    "tarball/test_load_manifest.tar",
    "mutate/overwritten_file.tar",
    "mutate/source_image.tar",
    "mutate/source_image_with_empty_layer_history.tar",
    "mutate/whiteout_dir.tar",
    "mutate/whiteout_image.tar",
  ]);

  for (const path of ["tarball/content.tar", "crane/content.tar", "crane/content.tar.zst"]) {
    Deno.test(`fixture archives/${path} (a bare layer) is refused as "not an image archive"`, async () => {
      const store = new MemoryStore();
      await assertRejects(
        () => importFixture(`archives/${path}`, {}, store),
        InvalidInputError,
        "not an image archive",
      );
      assertEquals(await storedDigests(store), []);
    });
  }

  Deno.test("fixture archives/tarball/no_manifest.tar (legacy v1.0 save, no manifest.json) is refused", async () => {
    const store = new MemoryStore();
    await assertRejects(
      () => importFixture("archives/tarball/no_manifest.tar", {}, store),
      InvalidInputError,
      "manifest.json",
    );
    assertEquals(await storedDigests(store), []);
  });

  Deno.test("fixture archives/tarball/null_manifest.tar (manifest.json is null) is refused", async () => {
    const store = new MemoryStore();
    const err = await assertRejects(
      () => importFixture("archives/tarball/null_manifest.tar", {}, store),
      InvalidInputError,
      "manifest.json",
    );
    assertStringIncludes(err.message, "null");
    assertEquals(await storedDigests(store), []);
  });

  Deno.test("fixture archives/tarball/hello-world-v25.tar (index.json manifests null + manifest.json) imports through manifest.json: untagged, linux/arm64", async () => {
    const facts = archive("tarball/hello-world-v25.tar");
    const img = facts.facts.images![0];
    const plain = await importFixture("archives/tarball/hello-world-v25.tar");
    assertEquals(plain.result.format, "docker-archive");
    assertEquals(plain.result.images, []);
    const { store, result } = await importFixture("archives/tarball/hello-world-v25.tar", {
      digests: true,
    });
    const digest = await containerdManifestDigest(store, img);
    assertEquals(result.images.map((i) => i.name), [`${BASE}@${digest}`]);
    assert(await store.has(img.configDigest));
    assert(await store.has(img.layers[0].fileSha256));
    const s = await summarizeImage(store, await store.getImage(`${BASE}@${digest}`));
    assertEquals(s.platforms, [img.platform]);
    assertEquals(s.missing, []);
  });

  const dockerArchives = [
    "tarball/test_bundle.tar",
    "tarball/test_image_1.tar",
    "tarball/test_image_2.tar",
    "tarball/test_link.tar",
    "tarball/test_load_manifest.tar",
    "mutate/overwritten_file.tar",
    "mutate/source_image.tar",
    "mutate/source_image_with_empty_layer_history.tar",
    "mutate/whiteout_dir.tar",
    "mutate/whiteout_image.tar",
  ];
  for (const path of dockerArchives) {
    Deno.test(`fixture archives/${path} imports every image under its normalized RepoTags, with the manifest digest containerd computes`, async () => {
      const facts = archive(path);
      const { store, result } = await importFixture(`archives/${path}`);
      assertEquals(result.format, "docker-archive");
      const want: [string, string][] = [];
      for (const img of facts.facts.images!) {
        const digest = await containerdManifestDigest(store, img);
        for (const tag of img.repoTags ?? []) want.push([normalizeReference(tag), digest]);
        assert(await store.has(img.configDigest), `config ${img.configDigest} not stored`);
        for (const l of img.layers) {
          const info = await store.info(l.fileSha256);
          assertEquals(info.size, l.bytes, `layer ${l.path}`);
        }
      }
      assertEquals(
        result.images.map((i) => [i.name, i.digest]).sort(),
        want.sort(),
      );
      for (const record of await store.listImages()) {
        const s = await summarizeImage(store, record);
        assertEquals(s.missing, []);
        assertEquals(s.platforms, ["linux/amd64"]);
      }
    });
  }

  Deno.test("fixture archives/tarball/test_bundle.tar imports both images as docker.io/library/test_image_{1,2}:latest", async () => {
    const { result } = await importFixture("archives/tarball/test_bundle.tar");
    assertEquals(result.images.map((i) => i.name).sort(), [
      "docker.io/library/test_image_1:latest",
      "docker.io/library/test_image_2:latest",
    ]);
  });

  Deno.test("fixture archives/tarball/test_link.tar follows the symlinked layer to the linked file's bytes", async () => {
    const facts = archive("tarball/test_link.tar");
    const img3 = facts.facts.images!.find((i) => i.repoTags?.[0]?.endsWith(":test_image_3"))!;
    const linked = img3.layers[0];
    assert(linked.symlinkTo, "the fixture's first layer is a symlink");
    const { store, result } = await importFixture("archives/tarball/test_link.tar");
    assert(result.images.some((i) => i.name === "docker.io/bazel/v1/tarball:test_image_3"));
    const bytes = await readAllBytes(await store.reader(linked.fileSha256), 1 << 24);
    assertEquals(bytes.byteLength, linked.bytes);
    assert(bytes.byteLength > 0, "the symlink was stored as 0 bytes");
    assertEquals(await digestBytes(await getRuntime(), bytes), linked.diffID);
  });

  Deno.test("fixture archives/mutate/source_image_with_empty_layer_history.tar imports although its config file name is not its digest", async () => {
    const facts = archive("mutate/source_image_with_empty_layer_history.tar");
    const img = facts.facts.images![0];
    assert(img.configDigest.startsWith("sha256:05b5ec12"));
    const { store } = await importFixture(
      "archives/mutate/source_image_with_empty_layer_history.tar",
    );
    const config = JSON.parse(
      new TextDecoder().decode(await readAllBytes(await store.reader(img.configDigest), 1 << 20)),
    );
    assertEquals(config.history.length, 2);
    assert(config.history.some((h: { empty_layer?: boolean }) => h.empty_layer));
  });

  Deno.test("fixture archives/mutate/whiteout_dir.tar keeps its gzip layers as Docker gzip layers", async () => {
    const facts = archive("mutate/whiteout_dir.tar");
    const { store, result } = await importFixture("archives/mutate/whiteout_dir.tar");
    const manifest = JSON.parse(
      new TextDecoder().decode(
        await readAllBytes(await store.reader(result.images[0].digest as Digest), 1 << 20),
      ),
    );
    assertEquals(
      manifest.layers.map((l: { mediaType: string; digest: string }) => [l.mediaType, l.digest]),
      facts.facts.images![0].layers.map((l) => [mt.DOCKER_LAYER_GZIP, l.fileSha256]),
    );
  });

  Deno.test("fixture layouts and archives re-import into the same store without adding anything", async () => {
    const store = new MemoryStore();
    for (const rel of ["layouts/test_index", "archives/tarball/test_link.tar"]) {
      await importFixture(rel, {}, store);
      const again = await importFixture(rel, {}, store);
      assertEquals(again.result.blobs.added, 0);
    }
  });
}
