/**
 * Referrers with the real registry (distribution 2.8 has no referrers API, so the
 * `sha256-<hex>` fallback tag index is what clients must maintain and read), and with a
 * registry that answers the API (the fault proxy plays it).
 */
import { assert, assertEquals } from "../assert.ts";
import { runCli, withTempDir } from "../export/_support.ts";
import { blob, blobsOf, type BuiltBlob, type BuiltImage, jsonBlob } from "../helpers/images.ts";
import { imagesOf, importBuilt, oneClearLine, storeDigests, world } from "./_cli.ts";
import {
  getManifest,
  haveRegistry,
  pushBuiltImage,
  putBlob,
  putManifest,
  startFaultProxy,
  startRegistry,
} from "./_registry.ts";
import { sampleImage } from "./_cli.ts";

const EMPTY = {
  mediaType: "application/vnd.oci.empty.v1+json",
  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  size: 2,
};

interface Artifact {
  manifest: BuiltBlob;
  blobs: BuiltBlob[];
}

async function artifactFor(subject: BuiltImage, text: string): Promise<Artifact> {
  const layer = await blob(text, "application/vnd.example.sbom.v1+json");
  const empty = await blob("{}", EMPTY.mediaType);
  const manifest = await jsonBlob(
    {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.example.sbom.v1+json",
      config: EMPTY,
      layers: [layer.descriptor],
      subject: subject.manifest.descriptor,
      annotations: { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" },
    },
    "application/vnd.oci.image.manifest.v1+json",
    { artifactType: "application/vnd.example.sbom.v1+json" },
  );
  return { manifest, blobs: [empty, layer] };
}

const fallbackTag = (d: string) => d.replace(":", "-");

async function fallbackIndex(
  reg: Parameters<typeof getManifest>[0],
  repo: string,
  subject: string,
) {
  const m = await getManifest(reg, repo, fallbackTag(subject));
  if (m.status !== 200) return undefined;
  return JSON.parse(new TextDecoder().decode(m.bytes)) as {
    mediaType?: string;
    manifests: { digest: string; artifactType?: string }[];
  };
}

Deno.test("pushing artifacts with a subject maintains the sha256-<hex> fallback tag index, without duplicates", async () => {
  if (!(await haveRegistry("referrers fallback push"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const image = await sampleImage([1000]);
    const sbom = await artifactFor(image, '{"sbom":1}');
    const sig = await artifactFor(image, '{"sbom":2}');
    const w = await world(dir);
    await importBuilt(
      w,
      [
        { name: "example.com/app:1", root: image.manifest },
        { name: "example.com/app:sbom", root: sbom.manifest },
        { name: "example.com/app:sbom2", root: sig.manifest },
      ],
      [...blobsOf(image), sbom.manifest, ...sbom.blobs, sig.manifest, ...sig.blobs],
    );
    await w.run(["push", "--plain-http", "-q", `${reg.host}/app:1`, "example.com/app:1"]);
    const subject = image.manifest.descriptor.digest;
    await w.run([
      "push",
      "--plain-http",
      "-q",
      `${reg.host}/app@${sbom.manifest.descriptor.digest}`,
      "example.com/app:sbom",
    ]);
    let idx = await fallbackIndex(reg, "app", subject);
    assert(idx, "the fallback tag exists");
    assertEquals(idx.mediaType, "application/vnd.oci.image.index.v1+json");
    assertEquals(idx.manifests.map((m) => m.digest), [sbom.manifest.descriptor.digest]);
    assertEquals(idx.manifests[0].artifactType, "application/vnd.example.sbom.v1+json");

    await w.run([
      "push",
      "--plain-http",
      "-q",
      `${reg.host}/app@${sbom.manifest.descriptor.digest}`,
      "example.com/app:sbom",
    ]);
    await w.run([
      "push",
      "--plain-http",
      "-q",
      `${reg.host}/app@${sig.manifest.descriptor.digest}`,
      "example.com/app:sbom2",
    ]);
    idx = await fallbackIndex(reg, "app", subject);
    assertEquals(
      idx!.manifests.map((m) => m.digest).sort(),
      [sbom.manifest.descriptor.digest, sig.manifest.descriptor.digest].sort(),
      "each referrer once",
    );

    const r = await w.run(["remote", "referrers", "--plain-http", `${reg.host}/app:1`]);
    assert(r.stdout.includes(sbom.manifest.descriptor.digest), r.stdout);
    assert(r.stdout.includes(sig.manifest.descriptor.digest), r.stdout);
  });
});

Deno.test("pull --referrers fetches the artifacts listed by the fallback tag", async () => {
  if (!(await haveRegistry("pull --referrers"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const image = await sampleImage([1000]);
    const sbom = await artifactFor(image, '{"sbom":"pulled"}');
    await pushBuiltImage(reg, "ref/app", "1", image);
    for (const b of sbom.blobs) await putBlob(reg, "ref/app", b);
    await putManifest(reg, "ref/app", sbom.manifest.descriptor.digest, sbom.manifest);
    const index = await jsonBlob(
      {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [{ ...sbom.manifest.descriptor }],
      },
      "application/vnd.oci.image.index.v1+json",
    );
    await putManifest(reg, "ref/app", fallbackTag(image.manifest.descriptor.digest), index);

    const w = await world(dir);
    await w.run(["pull", "--plain-http", "-q", `${reg.host}/ref/app:1`]);
    assert(
      !(await storeDigests(w)).has(sbom.manifest.descriptor.digest),
      "not without --referrers",
    );
    await w.run(["pull", "--plain-http", "--referrers", "-q", `${reg.host}/ref/app:1`]);
    const digests = await storeDigests(w);
    assert(digests.has(sbom.manifest.descriptor.digest), "the artifact manifest is stored");
    assert(digests.has(sbom.blobs[1].descriptor.digest), "and its layer");
  });
});

Deno.test("a fallback tag that is not an index is not taken as a list of referrers", async () => {
  if (!(await haveRegistry("bad fallback tag"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const image = await sampleImage([1000]);
    const other = await sampleImage([1200], { label: "not an index" });
    await pushBuiltImage(reg, "bad/app", "1", image);
    await pushBuiltImage(reg, "bad/app", fallbackTag(image.manifest.descriptor.digest), other);
    const w = await world(dir);
    const r = await runCli(["pull", "--plain-http", "--referrers", `${reg.host}/bad/app:1`], {
      store: w.store,
      env: w.env,
    });
    // One line that says what is wrong; the pull fails as a whole and names nothing.
    assertEquals(r.code, 1, r.stderr);
    oneClearLine(r, "referrers fallback tag", "not an index");
    assert(!(await storeDigests(w)).has(other.manifest.descriptor.digest));
    assertEquals(await imagesOf(w), new Map());
  });
});

Deno.test("a registry that answers the referrers API is asked there, not through the tag", async () => {
  if (!(await haveRegistry("referrers API"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const image = await sampleImage([1000]);
    const sbom = await artifactFor(image, '{"sbom":"api"}');
    await pushBuiltImage(reg, "api/app", "1", image);
    for (const b of sbom.blobs) await putBlob(reg, "api/app", b);
    await putManifest(reg, "api/app", sbom.manifest.descriptor.digest, sbom.manifest);
    proxy.add({
      kind: "referrers",
      action: {
        respond: {
          status: 200,
          headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
          body: JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.index.v1+json",
            manifests: [sbom.manifest.descriptor],
          }),
        },
      },
    });
    const w = await world(dir);
    await w.run(["pull", "--plain-http", "--referrers", "-q", `${proxy.host}/api/app:1`]);
    assert((await storeDigests(w)).has(sbom.manifest.descriptor.digest));
    assert(proxy.count({ kind: "referrers" }) >= 1);
    assert(
      !proxy.seen.some((s) =>
        s.kind === "manifest" && s.path.endsWith(fallbackTag(image.manifest.descriptor.digest))
      ),
      "the fallback tag is not read when the API answers",
    );
  });
});
