/**
 * `lading remote tags|digest|manifest|config` against the real registry: the registry's
 * exact bytes and digests, nothing stored locally.
 */
import { assertEquals } from "../assert.ts";
import { withTempDir } from "../export/_support.ts";
import { oneClearLine, sampleImage, visibleState, world } from "./_cli.ts";
import { haveRegistry, pushBuiltImage, startRegistry } from "./_registry.ts";

Deno.test("remote tags, digest, manifest and config show what the registry holds", async () => {
  if (!(await haveRegistry("remote commands", { token: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry({ auth: "token", token: { anonymousPull: true } });
    const image = await sampleImage([1000]);
    await pushBuiltImage(reg, "r/app", "1", image);
    await pushBuiltImage(reg, "r/app", "latest", image);
    const w = await world(dir);
    const ref = `${reg.host}/r/app:1`;
    const run = async (sub: string, json = false) =>
      (await w.run(["remote", sub, "--plain-http", ...(json ? ["--json"] : []), ref])).stdout;

    assertEquals((await run("tags")).trim().split("\n").sort(), ["1", "latest"]);
    assertEquals(JSON.parse(await run("tags", true)).tags.sort(), ["1", "latest"]);
    assertEquals((await run("digest")).trim(), image.manifest.descriptor.digest);
    assertEquals(JSON.parse(await run("digest", true)), {
      ref,
      mediaType: image.manifest.descriptor.mediaType,
      digest: image.manifest.descriptor.digest,
      size: image.manifest.descriptor.size,
    });
    assertEquals(
      new TextEncoder().encode((await run("manifest")).replace(/\n$/, "")),
      image.manifest.bytes,
      "the manifest's exact bytes",
    );
    assertEquals(
      JSON.parse(await run("config")),
      JSON.parse(new TextDecoder().decode(image.config.bytes)),
    );
    assertEquals(await visibleState(w.store), "(no names)", "nothing is stored");

    const missing = await w.run(["remote", "digest", "--plain-http", `${reg.host}/r/app:nope`], {
      code: 1,
    });
    oneClearLine(missing, "not found");
  });
});

Deno.test("remote manifest/config --platform take one platform: a second is a usage error, not ignored", async () => {
  await withTempDir(async (dir) => {
    const w = await world(dir);
    for (const sub of ["manifest", "config"]) {
      const r = await w.run(
        ["remote", sub, "--plain-http", "--platform", "linux/amd64,linux/arm64", "127.0.0.1:9/x:1"],
        { code: 2 },
      );
      assertEquals(r.stderr.split("\n")[0], "lading: --platform takes one platform here");
    }
  });
});
