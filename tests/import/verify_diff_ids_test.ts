import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { OCI_CONFIG, OCI_MANIFEST } from "../../src/media_types.ts";
import { blobsOf, buildImage, jsonBlob, layoutFiles, tarOfFiles } from "../helpers/images.ts";
import { snapshot, withTempDir } from "./_support.ts";

const repo = new URL("../../", import.meta.url).pathname;

/** An image whose config lists a wrong diff_id for its only (gzip) layer. */
async function wrongDiffIdArchive(): Promise<Uint8Array> {
  const good = await buildImage({ layers: [{ files: [{ path: "a.txt", content: "a" }] }] });
  const config = JSON.parse(new TextDecoder().decode(good.config.bytes));
  config.rootfs.diff_ids = ["sha256:" + "1".repeat(64)];
  const configBlob = await jsonBlob(config, OCI_CONFIG);
  const manifest = await jsonBlob({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configBlob.descriptor,
    layers: good.layers.map((l) => l.descriptor),
  }, OCI_MANIFEST);
  const files = layoutFiles(
    [{ descriptor: manifest.descriptor, refName: "example.com/bad:1" }],
    [manifest, configBlob, ...good.layers],
  );
  return tarOfFiles(files);
}

async function lading(store: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", ...args, "--store", store],
    cwd: repo,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("import --verify-diff-ids refuses a layer whose uncompressed digest differs from the config, and records nothing", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const seed = await buildImage({ layers: [{ files: [{ path: "seed", content: "s" }] }] });
    await Deno.writeFile(
      `${dir}/seed.tar`,
      await tarOfFiles(
        layoutFiles(
          [{ descriptor: seed.manifest.descriptor, refName: "example.com/seed:1" }],
          blobsOf(seed),
        ),
      ),
    );
    assertEquals((await lading(store, ["import", `${dir}/seed.tar`])).code, 0);
    await Deno.writeFile(`${dir}/bad.tar`, await wrongDiffIdArchive());
    const before = await snapshot(store);
    const r = await lading(store, ["import", "--verify-diff-ids", `${dir}/bad.tar`]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "sha256:" + "1".repeat(64));
    assertEquals(await snapshot(store), before);
    // Without the flag the (structurally valid) image imports.
    const plain = await lading(store, ["import", `${dir}/bad.tar`]);
    assertEquals(plain.code, 0);
    assert((await snapshot(store))["index.json"] !== before["index.json"]);
  });
});
