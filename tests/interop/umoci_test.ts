/**
 * Interop with umoci: `umoci ls` / `umoci stat` on lading's exported layout (the
 * oci-archive extracted) and on the store directory itself; umoci-made layouts imported
 * by lading with umoci's digests and tags.
 */
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { multiArchive, runCli, singleArchive, withTempDir } from "../export/_support.ts";
import { haveTools, lading, ladingImages, run, umociLayout } from "./_tools.ts";

function lines(text: string): string[] {
  return text.trim().split("\n").filter((l) => l).sort();
}

Deno.test("interop: umoci ls and umoci stat read lading's exported layout", async () => {
  if (!(await haveTools("umoci interop", "umoci"))) return;
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const multi = await multiArchive("example.com/multi:1", "umoci");
    const single = await singleArchive("docker.io/library/single:2", "umoci");
    await Deno.writeFile(`${dir}/m.tar`, multi.bytes);
    await Deno.writeFile(`${dir}/s.tar`, single.bytes);
    await lading(["import", `${dir}/m.tar`], store);
    await lading(["import", `${dir}/s.tar`], store);
    await lading(
      ["export", "-o", `${dir}/x.tar`, "example.com/multi:1", "docker.io/library/single:2"],
      store,
    );
    await Deno.mkdir(`${dir}/layout`);
    await run("tar", ["-xf", `${dir}/x.tar`, "-C", `${dir}/layout`]);
    assertEquals(lines((await run("umoci", ["ls", "--layout", `${dir}/layout`])).stdout), [
      "1",
      "2",
    ]);
    const stat = await run("umoci", ["stat", "--json", "--image", `${dir}/layout:2`]);
    const history = JSON.parse(stat.stdout).history as {
      created_by?: string;
      layer?: { digest: string };
    }[];
    assertEquals(
      history.filter((h) => h.layer).map((h) => h.layer!.digest),
      single.image.layers.map((l) => l.descriptor.digest),
    );
    // The layout umoci reads is also a layout lading imports with the same digests.
    const fresh = `${dir}/fresh`;
    await lading(["import", "--base-name", "example.com/back", `${dir}/layout`], fresh);
    const ours = await ladingImages(store);
    const back = await ladingImages(fresh);
    // io.containerd.image.name wins over the tag-only ref.name.
    assertEquals(back, ours);
  });
});

Deno.test("interop: umoci ls reads the store directory itself and agrees with images ls", async () => {
  if (!(await haveTools("umoci interop", "umoci"))) return;
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const single = await singleArchive("example.com/single:1", "umoci-store");
    await Deno.writeFile(`${dir}/s.tar`, single.bytes);
    await lading(["import", `${dir}/s.tar`], store);
    await lading(["images", "tag", "example.com/single:1", "example.com/single:2"], store);
    const ls = await lading(["images", "ls", "-q"], store);
    assertEquals(lines((await run("umoci", ["ls", "--layout", store])).stdout), lines(ls.stdout));
    const stat = await run("umoci", ["stat", "--image", `${store}:example.com/single:2`]);
    assertStringIncludes(stat.stdout, single.image.layers[1].descriptor.digest);
  });
});

Deno.test("interop: lading imports umoci-made layouts with umoci's digests and tags", async () => {
  if (!(await haveTools("umoci interop", "umoci"))) return;
  await withTempDir(async (dir) => {
    const layout = await umociLayout(dir, "v1", "v2");
    const index = JSON.parse(await Deno.readTextFile(`${layout}/index.json`)) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    const umociDigests = new Map(
      index.manifests.map((m) => [m.annotations["org.opencontainers.image.ref.name"], m.digest]),
    );
    assertEquals(lines((await run("umoci", ["ls", "--layout", layout])).stdout), ["v1", "v2"]);
    const store = `${dir}/store`;
    await lading(["import", "--base-name", "example.com/umoci", layout], store);
    const ours = await ladingImages(store);
    assertEquals(ours.get("example.com/umoci:v1"), umociDigests.get("v1"));
    assertEquals(ours.get("example.com/umoci:v2"), umociDigests.get("v2"));
    const inspect = JSON.parse(
      (await lading(["images", "inspect", "--json", "example.com/umoci:v1"], store)).stdout,
    );
    assertEquals(inspect.config.config.Cmd, ["/bin/hello"]);
    const check = await runCli(["images", "check"], { store });
    assertEquals(check.code, 0, check.stdout);
    // And back out: umoci reads lading's export of what it made.
    await lading(["export", "-o", `${dir}/back.tar`, "example.com/umoci:v1"], store);
    await Deno.mkdir(`${dir}/back`);
    await run("tar", ["-xf", `${dir}/back.tar`, "-C", `${dir}/back`]);
    const stat = await run("umoci", ["stat", "--image", `${dir}/back:v1`]);
    assertStringIncludes(stat.stdout, "umoci config");
  });
});

Deno.test("interop: a layer from umoci insert (last member unpadded, no end blocks) works in every layer command", async () => {
  if (!(await haveTools("umoci interop", "umoci"))) return;
  await withTempDir(async (dir) => {
    const layout = `${dir}/layout`;
    const rootless = Deno.uid() !== 0 ? ["--rootless"] : [];
    await run("umoci", ["init", "--layout", layout]);
    await run("umoci", ["new", "--image", `${layout}:t`]);
    await Deno.writeTextFile(`${dir}/f.txt`, "hello\n");
    await run("umoci", ["insert", ...rootless, "--image", `${layout}:t`, `${dir}/f.txt`, "/etc/f"]);
    const store = `${dir}/store`;
    await lading(["import", "--base-name", "example.com/ins", layout], store);
    const name = "example.com/ins:t";
    const ls = await lading(["ls", name, "/etc"], store);
    assertStringIncludes(ls.stdout, "f");
    const cat = await lading(["cat", name, "/etc/f"], store);
    assertEquals(cat.stdout, "hello\n");
    const others = [
      await lading(["layers", name], store),
      await lading(["diff", name, "--layer", "0"], store),
      await lading(["waste", name], store),
      await lading(["images", "check", "--diff-ids", name], store),
      await lading(["unpack", name, `${dir}/rootfs`], store),
    ];
    // Go's reader accepts such a layer silently; so does lading (no warning on stderr).
    for (const r of [ls, cat, ...others]) assertEquals(r.stderr, "");
    assertEquals(await Deno.readTextFile(`${dir}/rootfs/etc/f`), "hello\n");
  });
});
