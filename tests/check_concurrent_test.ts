/**
 * `images check` running while `images rm` and `gc` remove images never reports a removed
 * image as incomplete: the incomplete ones are judged again against a fresh snapshot of the
 * names. Once in-process, with the removal placed exactly between the check's snapshot of
 * the names and its reading of the blobs, and once with real processes racing.
 */
import { checkImages } from "../src/check.ts";
import { collectGarbage } from "../src/gc.ts";
import { importImages } from "../src/import/mod.ts";
import { openFsStore } from "../src/store/fs.ts";
import type { ImageRecord } from "../src/store/types.ts";
import { assert, assertEquals } from "./assert.ts";
import { blobsOf, buildImage, type BuiltImage, layoutFiles, tarOfFiles } from "./helpers/images.ts";
import { runDeno } from "./helpers/peak_rss.ts";
import { tarSource, withTempDir } from "./import/_support.ts";

const cli = new URL("../cli.ts", import.meta.url);

async function images(n: number): Promise<BuiltImage[]> {
  const out: BuiltImage[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await buildImage({
        layers: [0, 1, 2].map((l) => ({
          files: [{ path: `f${l}`, content: `image ${i} layer ${l}\n`.repeat(2000) }],
        })),
      }),
    );
  }
  return out;
}

async function archiveOf(list: BuiltImage[]): Promise<Uint8Array> {
  return await tarOfFiles(layoutFiles(
    list.map((image, i) => ({
      descriptor: image.manifest.descriptor,
      refName: `example.com/c:${i}`,
    })),
    list.flatMap(blobsOf),
  ));
}

Deno.test("checkImages() leaves out an image removed and collected after it read the names, and still reports a really incomplete one", async () => {
  await withTempDir(async (dir) => {
    const store = await openFsStore(`${dir}/store`);
    const list = await images(3);
    await importImages(store, tarSource(await archiveOf(list)));
    // example.com/c:2 is really incomplete: one of its layers is gone.
    await store.delete(list[2].layers[1].descriptor.digest);
    const listImages = store.listImages.bind(store);
    let calls = 0;
    store.listImages = async (): Promise<ImageRecord[]> => {
      const snapshot = await listImages();
      if (calls++ === 0) {
        // Right after the check's snapshot: `images rm example.com/c:0` and `gc`.
        await store.deleteImages(["example.com/c:0"]);
        const gc = await collectGarbage(store);
        assert(gc.removed.length >= 3, "gc removed the image's blobs");
      }
      return snapshot;
    };
    const results = await checkImages(store);
    assertEquals(
      results.map((r) => [r.name, r.ok, r.complete]),
      [["example.com/c:1", true, true], ["example.com/c:2", false, false]],
    );
    await store.close();
  });
});

Deno.test("images check racing images rm + gc in other processes never reports a removed image as INCOMPLETE", async () => {
  await withTempDir(async (dir) => {
    const count = 10;
    await Deno.writeFile(`${dir}/images.tar`, await archiveOf(await images(count)));
    const store = `${dir}/store`;
    const imported = await runDeno(cli, ["import", "-q", "--store", store, `${dir}/images.tar`]);
    assertEquals(imported.code, 0, imported.stderr);
    const remover = (async () => {
      for (let i = 0; i < count; i++) {
        const rm = await runDeno(cli, ["images", "rm", "--store", store, `example.com/c:${i}`]);
        assertEquals(rm.code, 0, rm.stderr);
        const gc = await runDeno(cli, ["gc", "-q", "--store", store]);
        assertEquals(gc.code, 0, gc.stderr);
      }
    })();
    let done = false;
    remover.finally(() => (done = true)).catch(() => {});
    let checks = 0;
    while (!done) {
      const r = await runDeno(cli, ["images", "check", "--store", store]);
      checks++;
      assert(!r.stdout.includes("INCOMPLETE"), `check ${checks} reported:\n${r.stdout}`);
      assertEquals(r.code, 0, `check ${checks}: ${r.stdout}\n${r.stderr}`);
    }
    await remover;
    assert(checks > 0);
  });
});
