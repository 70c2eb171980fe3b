/**
 * skopeo as the independent peer, against the real registry: what `skopeo copy` pushes,
 * lading pulls with equal digests and bytes; what lading pushes, `skopeo copy docker://…
 * oci:…` pulls back byte-identical.
 */
import { assert, assertEquals } from "../assert.ts";
import { withTempDir } from "../export/_support.ts";
import { blobsOf, buildIndex, type BuiltBlob, layoutFiles } from "../helpers/images.ts";
import {
  importBuilt,
  type PullJson,
  type PushJson,
  sampleImage,
  storeBlob,
  world,
} from "./_cli.ts";
import { blobBytes, getManifest, haveRegistry, sh, startRegistry } from "./_registry.ts";

async function writeLayout(dir: string, files: Map<string, Uint8Array>): Promise<void> {
  for (const [path, bytes] of files) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(full, bytes);
  }
}

async function readLayoutBlob(dir: string, digest: string): Promise<Uint8Array> {
  return await Deno.readFile(`${dir}/blobs/${digest.replace(":", "/")}`);
}

Deno.test("what skopeo pushes, lading pulls with equal digests and bytes (OCI and Docker formats)", async () => {
  if (!(await haveRegistry("skopeo to lading", { skopeo: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const image = await sampleImage([40_000, 500]);
    const layout = `${dir}/layout`;
    await writeLayout(
      layout,
      layoutFiles([{ descriptor: image.manifest.descriptor, refName: "v1" }], blobsOf(image)),
    );
    // As is (OCI), and converted to Docker schema 2 by skopeo.
    for (const [repo, format] of [["skopeo/oci", "oci"], ["skopeo/docker", "v2s2"]]) {
      await sh("skopeo", [
        "copy",
        "--dest-tls-verify=false",
        ...(format === "oci" ? [] : ["--format", format]),
        `oci:${layout}:v1`,
        `docker://${reg.host}/${repo}:v1`,
      ]);
      const raw = await getManifest(reg, repo, "v1");
      assertEquals(raw.status, 200);
      const w = await world(dir, `store-${format}`);
      const pulled = await w.json<PullJson>(["pull", "--plain-http", `${reg.host}/${repo}:v1`]);
      assertEquals(pulled.digest, raw.digest, `${format}: the registry's digest`);
      assertEquals(await storeBlob(w, raw.digest), raw.bytes);
      const manifest = JSON.parse(new TextDecoder().decode(raw.bytes));
      for (const d of [manifest.config, ...manifest.layers]) {
        assertEquals(await storeBlob(w, d.digest), await blobBytes(reg, repo, d.digest));
      }
    }
  });
});

Deno.test("what lading pushes, skopeo copies back byte-identical (single image and multi-platform index)", async () => {
  if (!(await haveRegistry("lading to skopeo", { skopeo: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const amd = await sampleImage([30_000], { platform: { os: "linux", architecture: "amd64" } });
    const arm = await sampleImage([31_000], { platform: { os: "linux", architecture: "arm64" } });
    const index = await buildIndex([amd, arm]);
    const w = await world(dir);
    await importBuilt(
      w,
      [{ name: "example.com/one:1", root: amd.manifest }, {
        name: "example.com/multi:1",
        root: index,
      }],
      [...blobsOf(amd), ...blobsOf(arm), index],
    );
    const cases: { local: string; remote: string; root: BuiltBlob; all: BuiltBlob[] }[] = [
      { local: "example.com/one:1", remote: "back/one:1", root: amd.manifest, all: blobsOf(amd) },
      {
        local: "example.com/multi:1",
        remote: "back/multi:1",
        root: index,
        all: [index, ...blobsOf(amd), ...blobsOf(arm)],
      },
    ];
    for (const c of cases) {
      const pushed = await w.json<PushJson>([
        "push",
        "--plain-http",
        `${reg.host}/${c.remote}`,
        c.local,
      ]);
      assertEquals(pushed.digest, c.root.descriptor.digest);
      const out = `${dir}/out-${c.remote.replace(/[/:]/g, "-")}`;
      await sh("skopeo", [
        "copy",
        "--src-tls-verify=false",
        "--preserve-digests",
        ...(c.root === index ? ["--all"] : []),
        `docker://${reg.host}/${c.remote}`,
        `oci:${out}:copied`,
      ]);
      const outIndex = JSON.parse(await Deno.readTextFile(`${out}/index.json`));
      assertEquals(outIndex.manifests[0].digest, c.root.descriptor.digest);
      for (const b of c.all) {
        assertEquals(await readLayoutBlob(out, b.descriptor.digest), b.bytes, b.descriptor.digest);
      }
      const inspect = JSON.parse(
        await sh("skopeo", [
          "inspect",
          "--tls-verify=false",
          "--raw",
          `docker://${reg.host}/${c.remote}`,
        ]),
      );
      assert(inspect.schemaVersion === 2);
    }
  });
});
