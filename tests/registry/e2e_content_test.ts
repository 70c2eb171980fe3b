/**
 * The distribution-spec conformance suite's content classes, as a checklist against the
 * real registry (the suite itself needs a newer Go than Debian's): a `data` field, sha512
 * digests, non-distributable layers, an empty blob, a nested index, a missing subject and
 * a manifest with no layers. Each is seeded without lading, pulled with lading (same
 * digests, same bytes), and pushed back by lading to another repository (same bytes).
 */
import { assert, assertEquals } from "../assert.ts";
import { withTempDir } from "../export/_support.ts";
import { blob, type BuiltBlob, jsonBlob } from "../helpers/images.ts";
import { createHash } from "node:crypto";
import { namesFile, oneClearLine, type PullJson, storeBlob, world } from "./_cli.ts";
import {
  blobBytes,
  getManifest,
  haveRegistry,
  putBlob,
  putManifest,
  type Registry,
  startFaultProxy,
  startRegistry,
} from "./_registry.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";

function configOf(diffIds: string[] = []) {
  return jsonBlob({
    created: "2026-01-01T00:00:00Z",
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: diffIds },
  }, OCI_CONFIG);
}

function manifestOf(config: BuiltBlob, layers: BuiltBlob["descriptor"][], extra = {}) {
  return jsonBlob(
    { schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers, ...extra },
    OCI_MANIFEST,
  );
}

/**
 * Seeds `blobs` and `manifests` (children first) into `repo:tag`, pulls with lading,
 * checks digests and bytes, pushes back to `<repo>-back:tag` and checks the bytes there.
 */
async function roundTrip(
  reg: Registry,
  dir: string,
  repo: string,
  blobs: BuiltBlob[],
  manifests: BuiltBlob[],
  options: { pullArgs?: string[]; absent?: string[] } = {},
) {
  for (const b of blobs) await putBlob(reg, repo, b);
  const root = manifests.at(-1)!;
  for (const m of manifests.slice(0, -1)) await putManifest(reg, repo, m.descriptor.digest, m);
  await putManifest(reg, repo, "t", root);
  const w = await world(dir);
  const ref = `${reg.host}/${repo}:t`;
  const pulled = await w.json<PullJson>(["pull", "--plain-http", ...(options.pullArgs ?? []), ref]);
  assertEquals(pulled.digest, root.descriptor.digest);
  for (const b of [...blobs, ...manifests]) {
    assertEquals(await storeBlob(w, b.descriptor.digest), b.bytes, b.descriptor.digest);
  }
  await w.run(["push", "--plain-http", "-q", `${reg.host}/${repo}-back:t`, ref]);
  assertEquals((await getManifest(reg, `${repo}-back`, "t")).bytes, root.bytes);
  for (const b of blobs) {
    if (options.absent?.includes(b.descriptor.digest)) continue;
    assertEquals(await blobBytes(reg, `${repo}-back`, b.descriptor.digest), b.bytes);
  }
  return { w, ref };
}

Deno.test("content: a descriptor with a data field round-trips; data that disagrees with the blob is refused", async () => {
  if (!(await haveRegistry("content data field"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const config = await configOf();
    const layer = await blob("layer with data", OCI_LAYER);
    const withData = { ...config.descriptor, data: btoa(new TextDecoder().decode(config.bytes)) };
    const m = await manifestOf(config, [layer.descriptor], { config: withData });
    await roundTrip(reg, dir, "data", [config, layer], [m]);

    const lying = await manifestOf(config, [layer.descriptor], {
      config: { ...config.descriptor, data: btoa("{}") },
    });
    await putManifest(reg, "data", "lying", lying);
    const w = await world(`${dir}`, "lying-store");
    const r = await w.run(["pull", "--plain-http", `${reg.host}/data:lying`], { code: 1 });
    oneClearLine(r, "data");
  });
});

Deno.test("content: sha512 digests are verified and kept", async () => {
  if (!(await haveRegistry("content sha512"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const bytes = new TextEncoder().encode("a layer named by sha512\n".repeat(100));
    const layer: BuiltBlob = {
      bytes,
      descriptor: {
        mediaType: OCI_LAYER,
        digest: `sha512:${
          createHash("sha512").update(bytes).digest("hex")
        }` as BuiltBlob["descriptor"]["digest"],
        size: bytes.byteLength,
      },
    };
    const config = await configOf();
    const m = await manifestOf(config, [layer.descriptor]);
    await roundTrip(reg, dir, "sha512", [config, layer], [m]);

    proxy.add({ kind: "blob", path: /sha512:/, action: { corrupt: true } });
    const w = await world(dir, "corrupt-store");
    const r = await w.run(["pull", "--plain-http", `${proxy.host}/sha512:t`], { code: 1 });
    oneClearLine(r, layer.descriptor.digest.slice(0, 20));
  });
});

Deno.test("content: non-distributable layers with urls are not fetched, and push does not need them", async () => {
  if (!(await haveRegistry("content non-distributable"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const config = await configOf();
    const local = await blob("a normal layer", OCI_LAYER);
    const foreign = {
      mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
      digest: `sha256:${"c".repeat(64)}` as BuiltBlob["descriptor"]["digest"],
      size: 1234,
      urls: ["https://example.com/foreign/layer.tar.gz"],
    };
    const m = await manifestOf(config, [foreign, local.descriptor]);
    for (const b of [config, local]) await putBlob(reg, "foreign", b);
    await putManifest(reg, "foreign", "t", m);
    const w = await world(dir);
    const pulled = await w.json<PullJson>(["pull", "--plain-http", `${proxy.host}/foreign:t`]);
    assertEquals(pulled.digest, m.descriptor.digest);
    assert(
      !proxy.seen.some((s) => s.path.endsWith(foreign.digest)),
      "the foreign layer is not asked for",
    );
    await w.run([
      "push",
      "--plain-http",
      "-q",
      `${reg.host}/foreign-back:t`,
      `${proxy.host}/foreign:t`,
    ]);
    assertEquals((await getManifest(reg, "foreign-back", "t")).bytes, m.bytes);
  });
});

Deno.test("content: --allow-nondistributable-artifacts fetches and pushes a foreign layer the registry keeps; without it the image still checks clean", async () => {
  if (!(await haveRegistry("content non-distributable, allowed"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const config = await configOf();
    const local = await blob("a normal layer", OCI_LAYER);
    const foreign = await blob(
      "a foreign layer this registry keeps",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    );
    const foreignDescriptor = {
      ...foreign.descriptor,
      urls: ["https://example.com/foreign/layer.tar.gz"],
    };
    const m = await manifestOf(config, [foreignDescriptor, local.descriptor]);
    for (const b of [config, local, foreign]) await putBlob(reg, "nd", b);
    await putManifest(reg, "nd", "t", m);
    const digest = foreign.descriptor.digest;
    const asked = () => proxy.seen.filter((s) => s.path.endsWith(digest)).length;

    // Default: not fetched, and the image checks clean (non-distributable, not missing).
    const plain = await world(dir);
    await plain.run(["pull", "--plain-http", "-q", `${proxy.host}/nd:t`]);
    assertEquals(asked(), 0);
    await plain.run(["images", "check", `${proxy.host}/nd:t`]);
    // Asked for: fetched from the registry (never from its urls) and stored.
    const all = plain.other("all");
    await all.run([
      "pull",
      "--plain-http",
      "-q",
      "--allow-nondistributable-artifacts",
      `${proxy.host}/nd:t`,
    ]);
    assert(asked() > 0);
    assertEquals(await storeBlob(all, digest), foreign.bytes);
    // Push with the flag uploads it; without, it is skipped as skopeo does.
    const push = (w: typeof all, repo: string, flag: string[]) =>
      w.run(
        ["push", "--plain-http", "-q", ...flag, `${reg.host}/${repo}:t`, `${proxy.host}/nd:t`],
        {
          code: w === plain && flag.length ? 1 : 0,
        },
      );
    await push(all, "nd-all", ["--allow-nondistributable-artifacts"]);
    assertEquals(await blobBytes(reg, "nd-all", digest), foreign.bytes);
    await push(all, "nd-plain", []);
    assertEquals((await reg.fetch(`/v2/nd-plain/blobs/${digest}`, { method: "HEAD" })).status, 404);
    assertEquals((await getManifest(reg, "nd-plain", "t")).bytes, m.bytes);
    // Asked for, but the store does not have it: refused before sending, naming the blob.
    const refused = await push(plain, "nd-refused", ["--allow-nondistributable-artifacts"]);
    assert(refused.stderr.includes(digest), refused.stderr);
  });
});

Deno.test("content: an empty (zero-byte) blob round-trips", async () => {
  if (!(await haveRegistry("content empty blob"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const empty = await blob(new Uint8Array(0), OCI_LAYER);
    const config = await configOf();
    const m = await manifestOf(config, [empty.descriptor]);
    await roundTrip(reg, dir, "empty", [config, empty], [m]);
  });
});

Deno.test("content: a nested index (index → index → manifest) round-trips with every level", async () => {
  if (!(await haveRegistry("content nested index"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const config = await configOf();
    const layer = await blob("nested layer", OCI_LAYER);
    const m = await manifestOf(config, [layer.descriptor]);
    const inner = await jsonBlob({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...m.descriptor, platform: { os: "linux", architecture: "amd64" } }],
    }, OCI_INDEX);
    const outer = await jsonBlob(
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [inner.descriptor] },
      OCI_INDEX,
    );
    await roundTrip(reg, dir, "nested", [config, layer], [m, inner, outer], {
      pullArgs: ["--all-platforms"],
    });
  });
});

Deno.test("content: an artifact whose subject is missing round-trips", async () => {
  if (!(await haveRegistry("content missing subject"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const emptyConfig = await blob("{}", "application/vnd.oci.empty.v1+json");
    const layer = await blob('{"note":"orphan"}', "application/vnd.example.note.v1+json");
    const m = await jsonBlob({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/vnd.example.note.v1+json",
      config: emptyConfig.descriptor,
      layers: [layer.descriptor],
      subject: { mediaType: OCI_MANIFEST, digest: `sha256:${"d".repeat(64)}`, size: 321 },
    }, OCI_MANIFEST);
    await roundTrip(reg, dir, "orphan", [emptyConfig, layer], [m]);
  });
});

Deno.test("content: a manifest with no layers round-trips", async () => {
  if (!(await haveRegistry("content no layers"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const config = await configOf();
    const m = await manifestOf(config, []);
    await roundTrip(reg, dir, "nolayers", [config], [m]);
  });
});

Deno.test("content: an index entry that says manifest over a body that is an index is refused (kind confusion, CVE-2021-41190), as in an import", async () => {
  if (!(await haveRegistry("content kind confusion"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const config = await configOf();
    const layer = await blob("kind layer", OCI_LAYER);
    const m = await manifestOf(config, [layer.descriptor]);
    const inner = await jsonBlob({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...m.descriptor, platform: { os: "linux", architecture: "amd64" } }],
    }, OCI_INDEX);
    // The outer index calls the inner index a manifest.
    const outer = await jsonBlob({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{
        ...inner.descriptor,
        mediaType: OCI_MANIFEST,
        platform: { os: "linux", architecture: "amd64" },
      }],
    }, OCI_INDEX);
    for (const b of [config, layer]) await putBlob(reg, "kind", b);
    await putManifest(reg, "kind", m.descriptor.digest, m);
    await putManifest(reg, "kind", inner.descriptor.digest, inner);
    await putManifest(reg, "kind", "t", outer);
    const w = await world(dir);
    const r = await w.run(["pull", "--plain-http", `${reg.host}/kind:t`], { code: 1 });
    oneClearLine(r, inner.descriptor.digest);
    assert(/index/i.test(r.stderr) && /manifest/i.test(r.stderr), r.stderr);
    assertEquals(await namesFile(w.store), "(no names)", "nothing is named");
  });
});
