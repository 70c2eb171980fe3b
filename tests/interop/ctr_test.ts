/**
 * Interop with containerd: lading's oci and docker archives imported by `ctr images
 * import` into a containerd the test starts (private socket, root and state in a temp
 * directory), and `ctr images export` archives imported by lading. Same names, same
 * manifest digests, same config bytes.
 */
import { assertEquals } from "../assert.ts";
import { multiArchive, runCli, singleArchive, withTempDir } from "../export/_support.ts";
import {
  canRunContainerd,
  type Containerd,
  ctrImages,
  lading,
  ladingImages,
  startContainerd,
} from "./_tools.ts";

/** The config digest of an image's platform, as lading resolves it. */
async function ladingConfig(store: string, name: string, platform?: string): Promise<string> {
  const r = await lading(
    ["images", "inspect", "--json", ...(platform ? ["--platform", platform] : []), name],
    store,
  );
  return JSON.parse(r.stdout).manifest.config.digest;
}

Deno.test("interop: ctr images import of lading archives, and lading import of ctr exports", async (t) => {
  if (!(await canRunContainerd("ctr interop"))) return;
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const multi = await multiArchive("example.com/multi:1", "ctr");
    const single = await singleArchive("docker.io/library/single:1", "ctr");
    await Deno.writeFile(`${dir}/multi.tar`, multi.bytes);
    await Deno.writeFile(`${dir}/single.tar`, single.bytes);
    await lading(["import", `${dir}/multi.tar`], store);
    await lading(["import", `${dir}/single.tar`], store);
    const names = ["example.com/multi:1", "docker.io/library/single:1"];
    const ours = await ladingImages(store);

    await Deno.mkdir(`${dir}/containerd`);
    let containerd: Containerd | undefined;
    try {
      containerd = await startContainerd(`${dir}/containerd`);
      const c = containerd;

      await t.step("oci export: same names, manifest digests and config bytes", async () => {
        await lading(["export", "-o", `${dir}/oci.tar`, ...names], store);
        await c.ctr(["images", "import", "--no-unpack", "--all-platforms", `${dir}/oci.tar`]);
        const theirs = await ctrImages(c);
        for (const n of names) assertEquals(theirs.get(n)?.digest, ours.get(n), n);
        for (
          const [n, p] of [[names[0], "linux/arm64"], [names[0], "linux/amd64"], [
            names[1],
            undefined,
          ]] as const
        ) {
          const config = await ladingConfig(store, n, p);
          const theirBytes = (await c.ctr(["content", "get", config])).stdout;
          const ourBytes = (await lading(["content", "get", config], store)).stdout;
          assertEquals(theirBytes, ourBytes, `config of ${n} ${p ?? ""}`);
        }
        await c.ctr(["images", "rm", ...names]);
      });

      await t.step("oci export with --platform: ctr names the rewritten index", async () => {
        const r = await lading(
          ["export", "--json", "--platform", "linux/arm64", "-o", `${dir}/arm.tar`, names[0]],
          store,
        );
        const exported = JSON.parse(r.stdout).images[0];
        assertEquals(exported.rewrittenFrom, ours.get(names[0]));
        await c.ctr(["images", "import", "--no-unpack", "--all-platforms", `${dir}/arm.tar`]);
        assertEquals((await ctrImages(c)).get(names[0])?.digest, exported.digest);
        await c.ctr(["images", "rm", names[0]]);
      });

      await t.step(
        "docker export: ctr and lading import it with the same config and manifest digests",
        async () => {
          await lading(
            [
              "export",
              "--format",
              "docker",
              "--platform",
              "linux/arm64",
              "-o",
              `${dir}/docker.tar`,
              names[0],
            ],
            store,
          );
          await c.ctr(["images", "import", "--no-unpack", "--all-platforms", `${dir}/docker.tar`]);
          const theirs = await ctrImages(c);
          const manifest = JSON.parse(
            (await c.ctr(["content", "get", theirs.get(names[0])!.digest])).stdout,
          );
          assertEquals(manifest.config.digest, await ladingConfig(store, names[0], "linux/arm64"));
          const fresh = `${dir}/fresh-docker`;
          await lading(["import", "--docker-media-types", `${dir}/docker.tar`], fresh);
          assertEquals((await ladingImages(fresh)).get(names[0]), theirs.get(names[0])!.digest);
          await c.ctr(["images", "rm", names[0]]);
        },
      );

      await t.step("ctr export → lading import: same names and digests", async () => {
        await c.ctr(["images", "import", "--no-unpack", "--all-platforms", `${dir}/oci.tar`]);
        await c.ctr(["images", "export", "--all-platforms", `${dir}/ctr.tar`, ...names]);
        const fresh = `${dir}/fresh-ctr`;
        await lading(["import", `${dir}/ctr.tar`], fresh);
        const back = await ladingImages(fresh);
        for (const n of names) assertEquals(back.get(n), ours.get(n), n);
        const check = await runCli(["images", "check"], { store: fresh });
        assertEquals(check.code, 0, check.stdout);
      });
    } finally {
      await containerd?.stop();
    }
  });
});
