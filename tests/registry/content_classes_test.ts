/**
 * The distribution-spec conformance suite's content classes, pulled from and pushed to
 * the real registry: a `data` field, sha512 digests, an empty blob, a nested index, a
 * manifest without layers, and an artifact whose subject is missing. (Non-distributable
 * layers: distribution refuses their manifests unless its URL allow-list is configured.)
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { blob, jsonBlob } from "../helpers/images.ts";
import {
  getManifest,
  haveRegistry,
  putBlob,
  putManifest,
  type Registry,
  startRegistry,
} from "./_registry.ts";
import { RegistryClient } from "../../src/registry/client.ts";
import { pullImage, pushImage } from "../../src/registry/pull.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { readBlobBytes } from "../../src/store/blob.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import { digestBytes } from "../../src/digest.ts";
import * as mt from "../../src/media_types.ts";

const client = (reg: Registry) => new RegistryClient(reg.host, { plainHttp: true });
const config = (extra: Record<string, unknown> = {}) =>
  jsonBlob(
    { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, ...extra },
    mt.OCI_CONFIG,
  );

Deno.test("content classes: no layers, an empty blob, a data field, round trip through pull and push", async () => {
  if (!(await haveRegistry("content classes"))) return;
  await using reg = await startRegistry();
  const cfg = await config();
  const empty = await blob(new Uint8Array(), "application/vnd.example.empty-layer");
  const noLayers = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: { ...cfg.descriptor, data: btoa(new TextDecoder().decode(cfg.bytes)) },
    layers: [],
  }, mt.OCI_MANIFEST);
  const withEmpty = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: cfg.descriptor,
    layers: [empty.descriptor],
  }, mt.OCI_MANIFEST);
  await putBlob(reg, "cc/a", cfg);
  await putBlob(reg, "cc/a", empty);
  await putManifest(reg, "cc/a", "nolayers", noLayers);
  await putManifest(reg, "cc/a", "empty", withEmpty);
  const store = new MemoryStore();
  const c = client(reg);
  for (const tag of ["nolayers", "empty"]) {
    const r = await pullImage(store, `${reg.host}/cc/a:${tag}`, { client: c });
    await pushImage(store, r.name, { to: `${reg.host}/cc/b:${tag}`, client: c });
    const src = await getManifest(reg, "cc/a", tag);
    assertEquals((await getManifest(reg, "cc/b", tag)).bytes, src.bytes);
  }
  assertEquals((await readBlobBytes(store, empty.descriptor.digest)).byteLength, 0);
});

Deno.test("content classes: a data field that does not match the blob is refused", async () => {
  if (!(await haveRegistry("data mismatch"))) return;
  await using reg = await startRegistry();
  const cfg = await config();
  const bad = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: { ...cfg.descriptor, data: btoa("{}") },
    layers: [],
  }, mt.OCI_MANIFEST);
  await putBlob(reg, "cc/d", cfg);
  await putManifest(reg, "cc/d", "1", bad);
  const store = new MemoryStore();
  await assertRejects(
    () => pullImage(store, `${reg.host}/cc/d:1`, { client: client(reg) }),
    InvalidInputError,
  );
  assertEquals((await store.listImages()).length, 0);
});

Deno.test("content classes: a nested index is walked to its manifests", async () => {
  if (!(await haveRegistry("nested index"))) return;
  await using reg = await startRegistry();
  const cfg = await config();
  const layer = await blob("layer bytes", mt.OCI_LAYER);
  const m = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: cfg.descriptor,
    layers: [layer.descriptor],
  }, mt.OCI_MANIFEST);
  const inner = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: [{ ...m.descriptor, platform: { os: "linux", architecture: "amd64" } }],
  }, mt.OCI_INDEX);
  const outer = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: [inner.descriptor],
  }, mt.OCI_INDEX);
  for (const b of [cfg, layer]) await putBlob(reg, "cc/n", b);
  await putManifest(reg, "cc/n", m.descriptor.digest, m);
  await putManifest(reg, "cc/n", inner.descriptor.digest, inner);
  await putManifest(reg, "cc/n", "1", outer);
  const store = new MemoryStore();
  const r = await pullImage(store, `${reg.host}/cc/n:1`, {
    client: client(reg),
    platforms: [{ os: "linux", architecture: "amd64" }],
  });
  assertEquals(r.platforms, ["linux/amd64"]);
  assert(await store.has(layer.descriptor.digest));
});

Deno.test("content classes: sha512 blobs are verified with sha512 on pull and push", async () => {
  if (!(await haveRegistry("sha512"))) return;
  await using reg = await startRegistry();
  const rt = await getRuntime();
  const bytes512 = new TextEncoder().encode("sha512 layer");
  const layer = {
    bytes: bytes512,
    descriptor: {
      mediaType: mt.OCI_LAYER,
      digest: await digestBytes(rt, bytes512, { algorithm: "sha512" }),
      size: bytes512.byteLength,
    },
  };
  const cfg = await config();
  const m = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: cfg.descriptor,
    layers: [layer.descriptor],
  }, mt.OCI_MANIFEST);
  await putBlob(reg, "cc/s", cfg);
  await putBlob(reg, "cc/s", layer);
  await putManifest(reg, "cc/s", "1", m);
  const store = new MemoryStore();
  await pullImage(store, `${reg.host}/cc/s:1`, { client: client(reg) });
  assertEquals(await readBlobBytes(store, layer.descriptor.digest), bytes512);
  await pushImage(store, `${reg.host}/cc/s:1`, { to: `${reg.host}/cc/t:1`, client: client(reg) });
  assertEquals((await getManifest(reg, "cc/t", "1")).bytes, m.bytes);
});

Deno.test("content classes: an artifact whose subject is missing still pushes and pulls", async () => {
  if (!(await haveRegistry("missing subject"))) return;
  await using reg = await startRegistry();
  const empty = await jsonBlob({}, mt.OCI_EMPTY);
  const artifact = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    artifactType: "application/vnd.example",
    config: empty.descriptor,
    layers: [empty.descriptor],
    subject: { mediaType: mt.OCI_MANIFEST, digest: `sha256:${"1".repeat(64)}`, size: 100 },
  }, mt.OCI_MANIFEST);
  const store = new MemoryStore();
  const { writeBlob } = await import("../../src/store/blob.ts");
  await writeBlob(store, empty.bytes, empty.descriptor);
  await writeBlob(store, artifact.bytes, artifact.descriptor);
  await store.putImages([{ name: "art", target: artifact.descriptor }]);
  const c = client(reg);
  await pushImage(store, "art", { to: `${reg.host}/cc/m:1`, client: c });
  const refs = await c.referrers("cc/m", `sha256:${"1".repeat(64)}`);
  assertEquals(refs.map((d) => d.digest), [artifact.descriptor.digest]);
  const s2 = new MemoryStore();
  await pullImage(s2, `${reg.host}/cc/m:1`, { client: c });
  assert(await s2.has(artifact.descriptor.digest));
});
