/**
 * Round trips through the CLI and the on-disk store: import → export → import into a
 * fresh store gives identical digests, names and blobs; exporting the same store twice
 * gives identical bytes; a compressed export (gzip by lading, zstd by the system tool)
 * imports the same.
 */
import { assertEquals } from "../assert.ts";
import { multiArchive, runCli, singleArchive, withTempDir } from "../export/_support.ts";
import { haveTools, lading, run } from "./_tools.ts";

async function state(store: string): Promise<{ images: unknown; blobs: string }> {
  const images = JSON.parse((await lading(["images", "ls", "--json"], store)).stdout);
  const blobs = (await lading(["content", "ls", "-q"], store)).stdout;
  return { images, blobs };
}

const NAMES = ["example.com/multi:1", "docker.io/library/single:latest", "example.com/single:copy"];

async function seeded(dir: string): Promise<string> {
  const store = `${dir}/store`;
  const multi = await multiArchive(NAMES[0], "roundtrip");
  const single = await singleArchive(NAMES[1], "roundtrip");
  await Deno.writeFile(`${dir}/m.tar`, multi.bytes);
  await Deno.writeFile(`${dir}/s.tar`, single.bytes);
  await lading(["import", `${dir}/m.tar`], store);
  await lading(["import", `${dir}/s.tar`], store);
  await lading(["images", "tag", NAMES[1], NAMES[2]], store);
  return store;
}

Deno.test("round trip: import → export → import into a fresh store gives identical names, digests and blobs; exports are byte-identical", async () => {
  await withTempDir(async (dir) => {
    const store = await seeded(dir);
    await lading(["export", "-o", `${dir}/one.tar`, ...NAMES], store);
    await lading(["export", "-o", `${dir}/two.tar`, ...NAMES], store);
    const one = await Deno.readFile(`${dir}/one.tar`);
    assertEquals(
      await Deno.readFile(`${dir}/two.tar`),
      one,
      "the same store and names give the same bytes",
    );
    const fresh = `${dir}/fresh`;
    await lading(["import", `${dir}/one.tar`], fresh);
    assertEquals(await state(fresh), await state(store));
    await lading(["export", "-o", `${dir}/three.tar`, ...NAMES], fresh);
    assertEquals(
      await Deno.readFile(`${dir}/three.tar`),
      one,
      "the re-imported store exports the same bytes",
    );
    const check = await runCli(["images", "check"], { store: fresh });
    assertEquals(check.code, 0, check.stdout);
  });
});

Deno.test("round trip: gzip and zstd compressed exports import the same", async () => {
  await withTempDir(async (dir) => {
    const store = await seeded(dir);
    await lading(["export", "--gzip", "-o", `${dir}/x.tar.gz`, ...NAMES], store);
    const gz = `${dir}/gz`;
    await lading(["import", `${dir}/x.tar.gz`], gz);
    assertEquals(await state(gz), await state(store));
    if (!(await haveTools("zstd round trip", "zstd"))) return;
    await lading(["export", "-o", `${dir}/x.tar`, ...NAMES], store);
    await run("zstd", ["-q", "-3", `${dir}/x.tar`, "-o", `${dir}/x.tar.zst`]);
    const zst = `${dir}/zst`;
    await lading(["import", `${dir}/x.tar.zst`], zst);
    assertEquals(await state(zst), await state(store));
  });
});

Deno.test("round trip: a docker-format export imports back with the same config per name", async () => {
  await withTempDir(async (dir) => {
    const store = await seeded(dir);
    await lading(["export", "--format", "docker", "-o", `${dir}/d.tar`, ...NAMES], store);
    const fresh = `${dir}/fresh`;
    await lading(["import", `${dir}/d.tar`], fresh);
    for (const name of NAMES) {
      const config = async (s: string) =>
        JSON.parse((await lading(["images", "inspect", "--json", name], s)).stdout).manifest.config
          .digest;
      assertEquals(await config(fresh), await config(store), name);
    }
  });
});
