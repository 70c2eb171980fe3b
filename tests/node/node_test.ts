/**
 * The library under Node: `_node_entry.ts` is bundled with esbuild (platform node, node:*
 * external) and run with `node` against a real oci-archive built here (a gzip and a zstd
 * layer). Skipped with a visible message when `node` is missing, failed under CI=true.
 * @module
 */
import { appendLayer, emptyImage, MemoryStore, setConfig, writeImage } from "@lading/oci";
import { assert, assertEquals } from "../assert.ts";
import { blobsOf, buildImage, layoutFiles, tarOfFiles } from "../helpers/images.ts";
import { bundle, stopBundler } from "../../web-demo/build.ts";
import { buildSteps } from "./_build_steps.ts";

async function nodePath(): Promise<string | undefined> {
  for (const candidate of ["node", "/usr/bin/node"]) {
    try {
      const out = await new Deno.Command(candidate, { args: ["--version"], stdout: "piped" })
        .output();
      if (out.success) return candidate;
    } catch {
      // not there
    }
  }
  return undefined;
}

Deno.test("the library's store-free tests pass under Node against a real archive", async () => {
  const node = await nodePath();
  if (!node) {
    if (Deno.env.get("CI") === "true") throw new Error("node is missing (CI=true)");
    console.log("skipped: node not found");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "lading-node-" });
  try {
    const image = await buildImage({
      layers: [
        { files: [{ path: "app/", type: "directory" }, { path: "app/hello", content: "hi\n" }] },
        {
          files: [{ path: "etc/", type: "directory" }, {
            path: "etc/zstd",
            content: "z".repeat(5000),
          }],
          compression: "zstd",
        },
      ],
    });
    const name = "example.com/node-archive:1";
    const archive = `${dir}/image.tar`;
    await Deno.writeFile(
      archive,
      await tarOfFiles(
        layoutFiles([{ descriptor: image.manifest.descriptor, refName: name }], blobsOf(image)),
      ),
    );
    const store = new MemoryStore();
    const built = await writeImage(
      store,
      await buildSteps(store, { appendLayer, emptyImage, setConfig }),
    );
    await bundle({
      entryPoints: { entry: new URL("./_node_entry.ts", import.meta.url).pathname },
      outdir: `${dir}/out`,
      platform: "node",
      sourcemap: false,
    });
    await stopBundler();
    const out = await new Deno.Command(node, {
      args: [`${dir}/out/entry.js`, archive, name, built.descriptor.digest],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, text);
    // 5 library tests and the 30 cases of the store conformance suite (NodeFsStore).
    assert(/# pass 35\b/.test(text), text);
    assert(/# fail 0\b/.test(text), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
