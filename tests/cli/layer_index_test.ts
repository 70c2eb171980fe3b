/**
 * The store's per-layer file index (lading-cache/layers/): written by the first layer
 * command, used by the next ones, rebuilt when missing or unreadable, ignored by the
 * layout, and never a source of bytes.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { lading, show, withDemo } from "./_run.ts";

const CACHE = "lading-cache/layers";

function cacheFiles(store: string): string[] {
  try {
    return [...Deno.readDirSync(`${store}/${CACHE}`)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

Deno.test("the first ls writes one index file per layer; the next listings come from it without reading the blobs", async () => {
  await withDemo(async ({ store, archive }) => {
    await lading(store, ["import", archive]);
    assertEquals(cacheFiles(store), []);
    const first = await lading(store, ["ls", "-R", "example.com/demo:1"]);
    assertEquals(first.code, 0, show(first));
    const layers = JSON.parse((await lading(store, ["manifest", "example.com/demo:1"])).stdout)
      .layers as { digest: string }[];
    assertEquals(cacheFiles(store), layers.map((l) => `${l.digest.replace(":", "-")}.json`).sort());
    // Hide the layer blobs: listings, layers, diff and waste still work from the index...
    for (const l of layers) {
      const hex = l.digest.slice(7);
      await Deno.rename(`${store}/blobs/sha256/${hex}`, `${store}/${hex}.away`);
    }
    for (
      const args of [
        ["ls", "-R", "example.com/demo:1"],
        ["ls", "--layer", "1", "example.com/demo:1"],
        ["layers", "example.com/demo:1"],
        ["diff", "--layer", "1", "example.com/demo:1"],
        ["waste", "example.com/demo:1"],
      ]
    ) {
      const r = await lading(store, args);
      assertEquals(r.code, 0, `${args.join(" ")}: ${show(r)}`);
    }
    assertEquals((await lading(store, ["ls", "-R", "example.com/demo:1"])).stdout, first.stdout);
    // ...but bytes come only from the blob.
    const cat = await lading(store, ["cat", "example.com/demo:1", "/bin/hello"]);
    assertEquals(cat.code, 1);
    assertStringIncludes(cat.stderr, "not found in store");
    for (const l of layers) {
      const hex = l.digest.slice(7);
      await Deno.rename(`${store}/${hex}.away`, `${store}/blobs/sha256/${hex}`);
    }
    const ok = await lading(store, ["cat", "example.com/demo:1", "/bin/hello"]);
    assertEquals(ok.stdout, "#!/bin/sh\necho hello\n");
  });
});

Deno.test("a missing or unreadable index is rebuilt; a tampered one cannot make cat print another file's bytes", async () => {
  await withDemo(async ({ store, archive }) => {
    await lading(store, ["import", archive]);
    await lading(store, ["ls", "example.com/demo:1"]);
    const files = cacheFiles(store);
    assertEquals(files.length, 2);
    await Deno.writeTextFile(`${store}/${CACHE}/${files[0]}`, "{not json");
    await Deno.remove(`${store}/${CACHE}/${files[1]}`);
    const again = await lading(store, ["ls", "-R", "example.com/demo:1"]);
    assertEquals(again.code, 0, show(again));
    assertEquals(cacheFiles(store), files);
    JSON.parse(await Deno.readTextFile(`${store}/${CACHE}/${files[0]}`)); // rewritten
    // Swap the member numbers of two files in the index of the first layer.
    for (const f of files) {
      const path = `${store}/${CACHE}/${f}`;
      const doc = JSON.parse(await Deno.readTextFile(path));
      const hello = doc.entries.find((e: { path: string }) => e.path === "bin/hello");
      const release = doc.entries.find((e: { path: string }) => e.path === "etc/os-release");
      if (!hello || !release) continue;
      [hello.index, release.index] = [release.index, hello.index];
      await Deno.writeTextFile(path, JSON.stringify(doc));
    }
    const cat = await lading(store, ["cat", "example.com/demo:1", "/bin/hello"]);
    assert(!cat.stdout.includes("lading demo"), cat.stdout);
    assertEquals(cat.code, 1);
    assertStringIncludes(cat.stderr, "layer index");
  });
});

Deno.test("the index directory is invisible to the layout and gc removes the index of removed layers", async () => {
  await withDemo(async ({ store, archive }) => {
    await lading(store, ["import", archive]);
    await lading(store, ["ls", "example.com/demo:1"]);
    assertEquals(cacheFiles(store).length, 2);
    assertEquals((await lading(store, ["content", "verify"])).code, 0);
    assertEquals((await lading(store, ["images", "check"])).code, 0);
    await lading(store, ["images", "rm", "example.com/demo:1"]);
    const gc = await lading(store, ["gc"]);
    assertEquals(gc.code, 0, show(gc));
    assertEquals(cacheFiles(store), []);
  });
});
