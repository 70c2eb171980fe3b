import { DigestMismatchError } from "../../src/errors.ts";
import { checkDiffIds, verifyDiffIds } from "../../src/layers/diff_ids.ts";
import { summarizeLayers } from "../../src/layers/image_layers.ts";
import { resolveImage } from "../../src/image.ts";
import { writeBlob } from "../../src/store/blob.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import * as mt from "../../src/media_types.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { blob, buildImage, buildIndex, jsonBlob } from "../helpers/images.ts";
import { putImage, storedImage } from "./util.ts";

const layers = [
  { files: [{ path: "a", content: "a" }], compression: "gzip" as const },
  { files: [{ path: "b", content: "bb" }], compression: "zstd" as const },
  { files: [{ path: "c", content: "ccc" }], compression: "none" as const },
];

Deno.test("verifyDiffIds() accepts matching layers of every compression", async () => {
  const { store, image, built } = await storedImage({ layers });
  const result = await verifyDiffIds(store, image);
  assertEquals(result.map((l) => [l.diffId, l.verified, l.compression]), [
    [built.diffIds[0], true, "gzip"],
    [built.diffIds[1], true, "zstd"],
    [built.diffIds[2], true, "none"],
  ]);
});

Deno.test("verifyDiffIds() names the layer, expected and actual on a mismatch", async () => {
  const { store, image, built } = await storedImage({ layers });
  const wrong = {
    ...image,
    config: {
      ...image.config,
      rootfs: { type: "layers", diff_ids: [built.diffIds[0], built.diffIds[0], built.diffIds[2]] },
    },
  };
  const e = await assertRejects(() => verifyDiffIds(store, wrong), DigestMismatchError);
  assert(e.message.includes("layer 1 sha256:"), e.message);
  assert(e.message.includes(built.diffIds[0]) && e.message.includes(built.diffIds[1]), e.message);
});

Deno.test("summarizeLayers() aligns history, skipping empty_layer entries", async () => {
  const { store, image } = await storedImage({
    layers: layers.slice(0, 2),
    history: [
      { created_by: "ADD base /" },
      { created_by: "ENV X=1", empty_layer: true },
      { created_by: "RUN make" },
    ],
  });
  const s = await summarizeLayers(store, image);
  assertEquals(s.map((l) => [l.createdBy, l.files, l.entries, l.uncompressedSize! > 0]), [
    ["ADD base /", 1, 1, true],
    ["RUN make", 1, 1, true],
  ]);
});

Deno.test("checkDiffIds() checks every platform, reports mismatches and skips attestations", async () => {
  const store = new MemoryStore();
  const amd = await buildImage({ layers: layers.slice(0, 1) });
  const arm = await buildImage({
    layers: layers.slice(1, 2),
    platform: { os: "linux", architecture: "arm64" },
  });
  // an attestation manifest: in-toto layer, no diff_ids
  const statement = await blob('{"_type":"https://in-toto.io/Statement/v0.1"}', mt.IN_TOTO);
  const attConfig = await jsonBlob({
    architecture: "unknown",
    os: "unknown",
    rootfs: { type: "layers", diff_ids: [] },
  }, mt.OCI_CONFIG);
  const attManifest = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: attConfig.descriptor,
    layers: [statement.descriptor],
  }, mt.OCI_MANIFEST);
  const index = await buildIndex([amd, arm], {
    extra: [{
      ...attManifest.descriptor,
      platform: { os: "unknown", architecture: "unknown" },
      annotations: { "vnd.docker.reference.type": "attestation-manifest" },
    }],
  });
  await putImage(store, "amd:1", amd);
  await putImage(store, "arm:1", arm);
  for (const b of [statement, attConfig, attManifest, index]) {
    await writeBlob(store, b.bytes, b.descriptor);
  }
  await store.putImages([{ name: "multi:1", target: index.descriptor }]);
  const report = await checkDiffIds(store, "multi:1");
  assert(report.ok);
  assertEquals(report.manifests.map((m) => [m.platform, m.skipped, m.layers.length]), [
    ["linux/amd64", undefined, 1],
    ["linux/arm64", undefined, 1],
    ["unknown/unknown", "attestation manifest", 0],
  ]);
  const only = await checkDiffIds(store, "multi:1", {
    platform: { os: "linux", architecture: "arm64" },
  });
  assertEquals(only.manifests.filter((m) => !m.skipped).map((m) => m.platform), ["linux/arm64"]);

  // a config whose diff_id is wrong is reported (not thrown)
  const bad = await buildImage({ layers: layers.slice(0, 1) });
  const badConfig = await jsonBlob({
    ...JSON.parse(new TextDecoder().decode(bad.config.bytes)),
    rootfs: { type: "layers", diff_ids: [arm.diffIds[0]] },
  }, mt.OCI_CONFIG);
  const badManifest = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: badConfig.descriptor,
    layers: [bad.layers[0].descriptor],
  }, mt.OCI_MANIFEST);
  for (const b of [badConfig, badManifest, bad.layers[0]]) {
    await writeBlob(store, b.bytes, b.descriptor);
  }
  await store.putImages([{ name: "bad:1", target: badManifest.descriptor }]);
  const r = await checkDiffIds(store, "bad:1");
  assertEquals(r.ok, false);
  assertEquals(r.manifests[0].layers[0].verified, false);
  assertEquals(r.manifests[0].layers[0].expectedDiffId, arm.diffIds[0]);
  assertEquals(r.manifests[0].layers[0].diffId, bad.diffIds[0]);
  assertEquals((await resolveImage(store, "bad:1")).config.rootfs.diff_ids, [arm.diffIds[0]]);
});

Deno.test("checkDiffIds() reports absent platforms as skipped", async () => {
  const store = new MemoryStore();
  const amd = await buildImage({ layers: layers.slice(0, 1) });
  const arm = await buildImage({
    layers: layers.slice(1, 2),
    platform: { os: "linux", architecture: "arm64" },
  });
  const index = await buildIndex([amd, arm]);
  await putImage(store, "amd:1", amd);
  await writeBlob(store, index.bytes, index.descriptor);
  await store.putImages([{ name: "partial:1", target: index.descriptor }]);
  const report = await checkDiffIds(store, "partial:1");
  assertEquals(report.manifests.map((m) => m.skipped), [undefined, "not in the store"]);
});

Deno.test("verifyImagesDiffIds() throws at the first mismatch, naming image and layer", async () => {
  const { verifyImagesDiffIds } = await import("../../src/layers/verify.ts");
  const store = new MemoryStore();
  const good = await buildImage({ layers });
  await putImage(store, "good:1", good);
  assertEquals((await verifyImagesDiffIds(store, ["good:1"]))[0].ok, true);
  const other = await buildImage({ layers: layers.slice(0, 1) });
  const config = await jsonBlob({
    ...JSON.parse(new TextDecoder().decode(other.config.bytes)),
    rootfs: { type: "layers", diff_ids: [good.diffIds[1]] },
  }, mt.OCI_CONFIG);
  const manifest = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: config.descriptor,
    layers: [other.layers[0].descriptor],
  }, mt.OCI_MANIFEST);
  for (const b of [config, manifest, other.layers[0]]) {
    await writeBlob(store, b.bytes, b.descriptor);
  }
  await store.putImages([{ name: "bad:1", target: manifest.descriptor }]);
  const e = await assertRejects(
    () => verifyImagesDiffIds(store, ["good:1", "bad:1"]),
    DigestMismatchError,
  );
  assert(e.message.startsWith("image bad:1 (linux/amd64): layer 0 sha256:"), e.message);
  assertEquals([e.expected, e.actual], [good.diffIds[1], other.diffIds[0]]);
});
