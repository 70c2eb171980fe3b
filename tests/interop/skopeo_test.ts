/**
 * Interop with skopeo: lading's oci-archives read by `skopeo inspect` and copied by
 * `skopeo copy`; archives and layouts skopeo writes imported by lading with the digests
 * skopeo reports; the store directory itself read by skopeo as an OCI layout (docker-archive
 * imports included).
 */
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { buildImage, dockerArchiveFiles, tarOfFiles } from "../helpers/images.ts";
import { multiArchive, runCli, singleArchive, withTempDir } from "../export/_support.ts";
import { haveTools, lading, ladingImages, run, sha256Of, umociLayout } from "./_tools.ts";

/** The digest of what a skopeo reference points at (index or manifest), from its raw bytes. */
async function skopeoDigest(ref: string): Promise<string> {
  return await sha256Of((await run("skopeo", ["inspect", "--raw", ref])).stdout);
}

Deno.test("interop: skopeo inspects and copies lading's oci-archive, with the same digests", async () => {
  if (!(await haveTools("skopeo interop", "skopeo"))) return;
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const multi = await multiArchive("example.com/multi:1", "skopeo");
    const single = await singleArchive("docker.io/library/single:2", "skopeo");
    await Deno.writeFile(`${dir}/m.tar`, multi.bytes);
    await Deno.writeFile(`${dir}/s.tar`, single.bytes);
    await lading(["import", `${dir}/m.tar`], store);
    await lading(["import", `${dir}/s.tar`], store);
    const ours = await ladingImages(store);
    await lading(
      ["export", "-o", `${dir}/x.tar`, "example.com/multi:1", "docker.io/library/single:2"],
      store,
    );
    // containerd's convention: ref.name holds the tag only.
    assertEquals(await skopeoDigest(`oci-archive:${dir}/x.tar:1`), ours.get("example.com/multi:1"));
    assertEquals(
      await skopeoDigest(`oci-archive:${dir}/x.tar:2`),
      ours.get("docker.io/library/single:2"),
    );
    const info = JSON.parse(
      (await run("skopeo", ["inspect", `oci-archive:${dir}/x.tar:2`])).stdout,
    );
    assertEquals(info.Digest, ours.get("docker.io/library/single:2"));
    assertEquals(
      info.Layers,
      single.image.layers.map((l) => l.descriptor.digest),
    );
    const arm = JSON.parse(
      (await run("skopeo", ["inspect", "--override-arch", "arm64", `oci-archive:${dir}/x.tar:1`]))
        .stdout,
    );
    assertEquals(arm.Architecture, "arm64");
    assertEquals(arm.Layers, multi.image.arm64.layers.map((l) => l.descriptor.digest));

    // skopeo copy --all keeps every digest; lading imports the copy unchanged.
    await run("skopeo", ["copy", "--all", `oci-archive:${dir}/x.tar:1`, `oci:${dir}/copy:1`]);
    const copied = JSON.parse(await Deno.readTextFile(`${dir}/copy/index.json`));
    assertEquals(copied.manifests[0].digest, ours.get("example.com/multi:1"));
    const fresh = `${dir}/fresh`;
    await lading(["import", "--base-name", "example.com/multi", `${dir}/copy`], fresh);
    assertEquals(
      (await ladingImages(fresh)).get("example.com/multi:1"),
      ours.get("example.com/multi:1"),
    );

    // A platform subset: skopeo reads the rewritten index.
    const sub = JSON.parse(
      (await lading(
        [
          "export",
          "--json",
          "--platform",
          "linux/arm64",
          "-o",
          `${dir}/arm.tar`,
          "example.com/multi:1",
        ],
        store,
      )).stdout,
    );
    assertEquals(await skopeoDigest(`oci-archive:${dir}/arm.tar:1`), sub.images[0].digest);
  });
});

Deno.test("interop: lading imports skopeo-made oci-archives, layouts and docker-archives with the digests skopeo reports", async () => {
  if (!(await haveTools("skopeo interop", "skopeo", "umoci"))) return;
  await withTempDir(async (dir) => {
    const layout = await umociLayout(dir, "v1");
    const expected = await skopeoDigest(`oci:${layout}:v1`);
    await run("skopeo", ["copy", `oci:${layout}:v1`, `oci-archive:${dir}/a.tar:example.com/sk:1`]);
    await run("skopeo", ["copy", `oci:${layout}:v1`, `oci:${dir}/skopeo-layout:v1`]);
    await run("skopeo", [
      "copy",
      `oci:${layout}:v1`,
      `docker-archive:${dir}/d.tar:example.com/sk:2`,
    ]);

    const store = `${dir}/store`;
    await lading(["import", `${dir}/a.tar`], store);
    await lading(["import", "--base-name", "example.com/sk", `${dir}/skopeo-layout`], store);
    await lading(["import", `${dir}/d.tar`], store);
    const ours = await ladingImages(store);
    assertEquals(await skopeoDigest(`oci-archive:${dir}/a.tar:example.com/sk:1`), expected);
    assertEquals(ours.get("example.com/sk:1"), expected);
    assertEquals(ours.get("example.com/sk:v1"), expected);

    // docker-archive: lading synthesizes the manifest the way containerd does, so compare
    // what skopeo reports about the archive itself: config and layer digests.
    const raw = JSON.parse(
      (await run("skopeo", ["inspect", "--raw", `docker-archive:${dir}/d.tar`])).stdout,
    );
    const info = JSON.parse(
      (await run("skopeo", ["inspect", `docker-archive:${dir}/d.tar`])).stdout,
    );
    const inspect = JSON.parse(
      (await lading(["images", "inspect", "--json", "example.com/sk:2"], store)).stdout,
    );
    assertEquals(inspect.manifest.config.digest, raw.config.digest);
    assertEquals(inspect.manifest.layers.map((l: { digest: string }) => l.digest), info.Layers);
    const check = await runCli(["images", "check"], { store });
    assertEquals(check.code, 0, check.stdout);
  });
});

Deno.test("interop: skopeo reads the store directory itself and agrees with images ls", async () => {
  if (!(await haveTools("skopeo interop", "skopeo"))) return;
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const multi = await multiArchive("example.com/multi:1", "store-dir");
    const single = await singleArchive("docker.io/library/single:3", "store-dir");
    await Deno.writeFile(`${dir}/m.tar`, multi.bytes);
    await Deno.writeFile(`${dir}/s.tar`, single.bytes);
    await lading(["import", `${dir}/m.tar`], store);
    await lading(["import", `${dir}/s.tar`], store);
    for (const [name, digest] of await ladingImages(store)) {
      assertEquals(await skopeoDigest(`oci:${store}:${name}`), digest, name);
    }
    const info = JSON.parse(
      (await run("skopeo", ["inspect", `oci:${store}:docker.io/library/single:3`])).stdout,
    );
    assertEquals(info.Layers, single.image.layers.map((l) => l.descriptor.digest));
    // skopeo copy out of the store works too.
    await run("skopeo", [
      "copy",
      "--all",
      `oci:${store}:example.com/multi:1`,
      `oci-archive:${dir}/out.tar:1`,
    ]);
    assertEquals(
      await skopeoDigest(`oci-archive:${dir}/out.tar:1`),
      multi.image.index.descriptor.digest,
    );
  });
});

Deno.test("interop: skopeo reads lading's docker-format export (config and layers as stored)", async () => {
  if (!(await haveTools("skopeo interop", "skopeo"))) return;
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const multi = await multiArchive("example.com/multi:1", "skopeo-docker");
    await Deno.writeFile(`${dir}/m.tar`, multi.bytes);
    await lading(["import", `${dir}/m.tar`], store);
    await lading(
      [
        "export",
        "--format",
        "docker",
        "--platform",
        "linux/arm64",
        "-o",
        `${dir}/d.tar`,
        "example.com/multi:1",
      ],
      store,
    );
    const ref = `docker-archive:${dir}/d.tar:example.com/multi:1`;
    const raw = JSON.parse((await run("skopeo", ["inspect", "--raw", ref])).stdout);
    assertEquals(raw.config.digest, multi.image.arm64.config.descriptor.digest);
    const info = JSON.parse((await run("skopeo", ["inspect", ref])).stdout);
    assertEquals(info.Architecture, "arm64");
    // containers/image names docker-archive layers by their diff_ids.
    assertEquals(info.Layers, multi.image.arm64.diffIds);
    // And skopeo copies it on into an OCI layout (converting the config) that lading imports.
    await run("skopeo", ["copy", ref, `oci:${dir}/copied:1`]);
    const fresh = `${dir}/fresh`;
    await lading(["import", "--base-name", "example.com/copied", `${dir}/copied`], fresh);
    const inspect = JSON.parse(
      (await lading(["images", "inspect", "--json", "example.com/copied:1"], fresh)).stdout,
    );
    assertEquals(inspect.config.rootfs.diff_ids, multi.image.arm64.diffIds);
    assertEquals(inspect.platform.architecture, "arm64");
  });
});

Deno.test("interop: skopeo reads every name a docker-archive import records (OCI manifests), and not those imported with --docker-media-types", async () => {
  if (!(await haveTools("skopeo interop", "skopeo"))) return;
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const image = await buildImage({
      layers: [{ files: [{ path: "etc/hello", content: "hello\n" }] }, {
        files: [{ path: "etc/bye", content: "bye\n" }],
      }],
      docker: true,
    });
    const files = await dockerArchiveFiles([
      { image, repoTags: ["example.com/docker-save:1", "example.com/docker-save:latest"] },
    ]);
    await Deno.writeFile(`${dir}/save.tar`, await tarOfFiles(files));
    await lading(["import", `${dir}/save.tar`], store);
    const names = await ladingImages(store);
    assertEquals([...names.keys()].sort(), [
      "example.com/docker-save:1",
      "example.com/docker-save:latest",
    ]);
    for (const [name, digest] of names) {
      assertEquals(await skopeoDigest(`oci:${store}:${name}`), digest, name);
      const info = JSON.parse((await run("skopeo", ["inspect", `oci:${store}:${name}`])).stdout);
      assertEquals(info.Digest, digest);
      assertEquals(
        info.Layers,
        image.diffIds,
        "uncompressed layers: their digests are the diff_ids",
      );
      assertEquals(info.Architecture, "amd64");
    }
    // skopeo copies out of the store too (it may recompress layers: compare the config).
    await run("skopeo", ["copy", `oci:${store}:example.com/docker-save:1`, `oci:${dir}/copy:1`]);
    const copied = JSON.parse(
      (await run("skopeo", ["inspect", "--raw", `oci:${dir}/copy:1`])).stdout,
    );
    assertEquals(copied.config.digest, image.config.descriptor.digest);

    // Docker-typed index.json entries are invisible to skopeo's oci: transport.
    const ctrStyle = `${dir}/ctr-style`;
    await lading(["import", "--docker-media-types", `${dir}/save.tar`], ctrStyle);
    const r = await new Deno.Command("skopeo", {
      args: ["inspect", `oci:${ctrStyle}:example.com/docker-save:1`],
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(r.code, 1);
    assertStringIncludes(new TextDecoder().decode(r.stderr), "no descriptor found for reference");
  });
});
