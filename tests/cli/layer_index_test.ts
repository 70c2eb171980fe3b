/**
 * The store's per-layer file index (lading-cache/layers/): written by the first layer
 * command, used by the next ones, rebuilt when missing or unreadable, ignored by the
 * layout, and never a source of bytes.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { lading, show, withDemo } from "./_run.ts";

const CACHE = "lading-cache/layers";
const MERGED = "lading-cache/merged";

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
    // One listing per layer (.json), and access points (.gzi) for gzip layers over 4 MB only.
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
    // (Without the image's merged listing, which would answer without the layer index.)
    await Deno.remove(`${store}/${MERGED}`, { recursive: true });
    const again = await lading(store, ["ls", "-R", "example.com/demo:1"]);
    assertEquals(again.code, 0, show(again));
    assertEquals(cacheFiles(store), files);
    JSON.parse(await Deno.readTextFile(`${store}/${CACHE}/${files[0]}`)); // rewritten
    // Swap the names of two files in the index of the first layer (columnar: the member
    // number is the position in each column).
    for (const f of files) {
      const path = `${store}/${CACHE}/${f}`;
      const doc = JSON.parse(await Deno.readTextFile(path));
      const hello = doc.name.findIndex((n: string) => n.endsWith("bin/hello"));
      const release = doc.name.findIndex((n: string) => n.endsWith("etc/os-release"));
      if (hello < 0 || release < 0) continue;
      [doc.name[hello], doc.name[release]] = [doc.name[release], doc.name[hello]];
      await Deno.writeTextFile(path, JSON.stringify(doc));
    }
    await Deno.remove(`${store}/${MERGED}`, { recursive: true });
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

/** A store holding an image with one gzip layer of ~12 MB: noise, then a file after it. */
async function withBigLayer(
  fn: (ctx: { store: string; name: string; tail: string; path: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lading-cli-" });
  try {
    const store = `${dir}/store`;
    const path = "/opt/z/" + "long-name-".repeat(12) + ".txt";
    await fn({ store, path, ...await bigLayerImage(store, path) });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function bigLayerImage(store: string, path: string): Promise<{ name: string; tail: string }> {
  const { appendLayer, emptyImage, writeImage } = await import("../../mod.ts");
  const { openFsStore } = await import("../../src/fs.ts");
  const s = await openFsStore(store, { create: true });
  try {
    // Not compressible (xorshift noise), so the layer blob is as big as its tar.
    const noise = new Uint8Array(12_000_000);
    let x = 2463534242;
    for (let i = 0; i < noise.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      noise[i] = x & 0xff;
    }
    const tail = "the last file\n".repeat(1000);
    const image = await appendLayer(s, emptyImage(), {
      files: [
        { path: "opt/noise.bin", content: noise },
        { path: path.slice(1), content: tail },
      ],
    });
    const name = "example.com/big:1";
    await writeImage(s, image, { name });
    return { name, tail };
  } finally {
    await s.close();
  }
}

Deno.test("cat of a file deep in a gzip layer reads from the access point before it, not from the layer's start", async () => {
  await withBigLayer(async ({ store, name, tail, path }) => {
    const first = await lading(store, ["cat", name, path]);
    assertEquals(first.code, 0, show(first));
    assertEquals(first.stdout, tail);
    const files = cacheFiles(store);
    assertEquals(files.filter((f) => f.endsWith(".gzi")).length, 1, files.join(" "));
    // Spoil the first MB of the layer blob: a read from the layer's start now fails...
    const layer = JSON.parse((await lading(store, ["manifest", name])).stdout).layers[0];
    const blob = `${store}/blobs/sha256/${layer.digest.slice(7)}`;
    await Deno.chmod(blob, 0o644);
    const bytes = await Deno.readFile(blob);
    const spoiled = bytes.slice();
    spoiled.fill(0, 0, 1_000_000);
    await Deno.writeFile(blob, spoiled);
    const bad = await lading(store, ["cat", name, "/opt/noise.bin"]);
    assertEquals(bad.code, 1);
    // ...but the file after the first access point still reads (with --layer too).
    for (const args of [["cat", name, path], ["cat", "--layer", "0", name, path]]) {
      const again = await lading(store, args);
      assertEquals(again.code, 0, `${args.join(" ")}: ${show(again)}`);
      assertEquals(again.stdout, tail);
    }
    await Deno.writeFile(blob, bytes);
  });
});

Deno.test("an access point file that does not match the layer cannot make cat print other bytes", async () => {
  await withBigLayer(async ({ store, name, tail, path }) => {
    assertEquals((await lading(store, ["cat", name, path])).stdout, tail);
    const gzi = cacheFiles(store).find((f) => f.endsWith(".gzi"))!;
    const file = `${store}/${CACHE}/${gzi}`;
    const bytes = await Deno.readFile(file);
    // Move every access point 1000 bytes later in the uncompressed stream.
    const text = new TextDecoder().decode(bytes);
    const nl = text.indexOf("\n", text.indexOf("\n") + 1);
    const header = JSON.parse(text.slice(text.indexOf("\n") + 1, nl));
    header.points = header.points.map((p: number[]) => [p[0], p[1] + 1000, p[2]]);
    const head = new TextEncoder().encode(
      `${text.slice(0, text.indexOf("\n") + 1)}${JSON.stringify(header)}\n`,
    );
    const windows = bytes.subarray(new TextEncoder().encode(text.slice(0, nl + 1)).byteLength);
    const out = new Uint8Array(head.byteLength + windows.byteLength);
    out.set(head);
    out.set(windows, head.byteLength);
    await Deno.writeFile(file, out);
    const cat = await lading(store, ["cat", name, path]);
    assertEquals(cat.stdout, "");
    assertEquals(cat.code, 1);
    assertStringIncludes(cat.stderr, "layer index");
  });
});
