/**
 * A failed import takes back every blob it added, whatever state the store's index.json
 * is in by then: the rollback does not depend on reading the names.
 */
import { importImages } from "../../src/import/mod.ts";
import { openFsStore } from "../../src/store/fs.ts";
import { assertEquals, assertRejects } from "../assert.ts";
import { blobsOf, buildImage, layoutFiles, tarOfFiles } from "../helpers/images.ts";
import { snapshot, tarSource, withTempDir } from "./_support.ts";

async function blobFiles(dir: string): Promise<string[]> {
  const all = await snapshot(dir);
  return Object.keys(all).filter((p) => p.startsWith("blobs/sha256/") && !p.endsWith("/"));
}

for (
  const [how, damage] of [
    ["not JSON", (dir: string) => Deno.writeTextFile(`${dir}/index.json`, "{ not json")],
    ["a directory", async (dir: string) => {
      await Deno.remove(`${dir}/index.json`);
      await Deno.mkdir(`${dir}/index.json`);
    }],
    ["over the 64 MiB cap", (dir: string) => Deno.truncate(`${dir}/index.json`, 65 << 20)],
  ] as const
) {
  Deno.test(`a failed import removes the blobs it added when index.json became ${how} meanwhile`, async () => {
    await withTempDir(async (dir) => {
      const store = await openFsStore(`${dir}/store`);
      const seed = await buildImage({ layers: [{ files: [{ path: "a", content: "a\n" }] }] });
      await importImages(
        store,
        tarSource(
          await tarOfFiles(layoutFiles([{
            descriptor: seed.manifest.descriptor,
            refName: "example.com/seed:1",
          }], blobsOf(seed))),
        ),
      );
      const before = await blobFiles(`${dir}/store`);
      const image = await buildImage({ layers: [{ files: [{ path: "b", content: "b\n" }] }] });
      const archive = await tarOfFiles(layoutFiles([{
        descriptor: image.manifest.descriptor,
        refName: "example.com/new:1",
      }], blobsOf(image)));
      // The blobs are committed, then index.json breaks just before the names are written.
      const putImages = store.putImages.bind(store);
      store.putImages = async (records) => {
        await damage(`${dir}/store`);
        return await putImages(records);
      };
      await assertRejects(() => importImages(store, tarSource(archive)));
      assertEquals(await blobFiles(`${dir}/store`), before);
      await store.close();
    });
  });
}
