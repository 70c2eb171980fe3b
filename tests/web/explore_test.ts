/**
 * The explorer's analysis (src/web/explore.ts, compare.ts, packages.ts) on images built in
 * code: a layer's changes and the filesystem up to it agree with the CLI's `diff`
 * (mergeImage), the efficiency view equals `waste` (analyzeWaste), removed paths say what
 * they removed, search, provenance, the security glance, symlinks and compare.
 * @module
 */
import { assert, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { resolveImage } from "../../src/image.ts";
import { importImages } from "../../src/import/mod.ts";
import { mergeImage } from "../../src/layers/image_layers.ts";
import { indexImageLayers } from "../../src/layers/layer_index.ts";
import { analyzeWaste } from "../../src/layers/waste.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { compareConfigs, compareImages } from "../../src/web/compare.ts";
import { globMatcher, ImageAnalysis } from "../../src/web/explore.ts";
import { configSummary } from "../../src/web/inspect.ts";
import { parseApkInstalled, parseDpkgStatus } from "../../src/web/packages.ts";
import { blobsOf, buildImage, layoutFiles, tarOfFiles } from "../helpers/images.ts";

async function storeWith(
  images: { name: string; image: Awaited<ReturnType<typeof buildImage>> }[],
) {
  const store = new MemoryStore();
  const tar = await tarOfFiles(layoutFiles(
    images.map((i) => ({ descriptor: i.image.manifest.descriptor, refName: i.name })),
    images.flatMap((i) => blobsOf(i.image)),
  ));
  await importImages(store, {
    kind: "stream",
    label: "t.tar",
    stream: new Blob([tar as BlobPart]).stream(),
  });
  return store;
}

async function analysis(store: MemoryStore, name: string) {
  const image = await resolveImage(store, name);
  return new ImageAnalysis(image, await indexImageLayers(store, image));
}

const base = [
  { path: "etc/", type: "directory" as const },
  { path: "etc/passwd", content: "root\n" },
  { path: "bin/sh", content: "ELF" },
  { path: "bin/link", type: "symlink" as const, linkname: "sh" },
  { path: "usr/bin/su", content: "su", mode: 0o4755 },
  { path: "tmp/", type: "directory" as const, mode: 0o1777 },
  { path: "big/a.bin", content: new Uint8Array(1000) },
  { path: "big/b.bin", content: new Uint8Array(500) },
  { path: "data/old.txt", content: "old" },
];

function testImage() {
  return buildImage({
    layers: [
      { files: base },
      {
        files: [
          { path: "etc/passwd", content: "root\napp\n" },
          { path: ".wh.big", content: "" },
          { path: "new.txt", content: "new", mode: 0o666 },
        ],
      },
      { files: [{ path: "data/.wh..wh..opq", content: "" }, { path: "data/fresh", content: "f" }] },
    ],
    history: [
      { created_by: "base" },
      { created_by: "ENV A=1", empty_layer: true },
      { created_by: "change" },
      { created_by: "opaque" },
    ],
    config: { Env: ["A=1", "B=2"], Cmd: ["sh"], Labels: { x: "1" } },
  });
}

Deno.test("a layer's changes are the CLI's diff, with marks; a removed path says what it removed", async () => {
  const store = await storeWith([{ name: "t:1", image: await testImage() }]);
  const a = await analysis(store, "t:1");
  const { fs } = await mergeImage(store, await resolveImage(store, "t:1"));
  const changes = a.tree(1, "changes");
  const marks: Record<string, string | undefined> = Object.fromEntries(
    changes.map((n) => [n.path, n.mark]),
  );
  assertEquals(
    marks,
    Object.fromEntries(fs.changes[1].map((c) => [c.path, c.kind[0].toUpperCase()])),
  );
  assertEquals(marks["etc/passwd"], "M");
  assertEquals(marks["new.txt"], "A");
  const big = changes.find((n) => n.path === "big")!;
  assertEquals(big.mark, "D");
  assertEquals(big.removed, { files: 2, bytes: 1500, type: "directory" });
});

Deno.test("the filesystem up to a layer has what that layer saw, and the layer's marks", async () => {
  const store = await storeWith([{ name: "t:1", image: await testImage() }]);
  const a = await analysis(store, "t:1");
  const upTo0 = a.tree(0, "upto").map((n) => n.path);
  assert(upTo0.includes("big/a.bin") && !upTo0.includes("new.txt"));
  const upTo2 = a.tree(2, "upto");
  const byPath = new Map(upTo2.map((n) => [n.path, n]));
  assertEquals(byPath.get("data/fresh")?.mark, "A");
  assertEquals(byPath.get("data/old.txt")?.mark, "D");
  assertEquals(byPath.get("etc/passwd")?.mark, undefined);
  assertEquals(byPath.get("etc/passwd")?.layer, 1);
  assert(!byPath.has("big/a.bin"));
  // The same view twice is the same (cached) value.
  assert(a.tree(2, "upto") === upTo2);
  assertThrows(() => a.tree(3, "upto"));
});

Deno.test("the layer list has sizes, counts and the empty history entry in place", async () => {
  const image = await testImage();
  const store = await storeWith([{ name: "t:1", image }]);
  const v = (await analysis(store, "t:1")).layers();
  assertEquals(v.steps.map((s) => [s.layer, s.createdBy, s.empty]), [
    [0, "base", false],
    [undefined, "ENV A=1", true],
    [1, "change", false],
    [2, "opaque", false],
  ]);
  assertEquals(v.layers[0].files, 6);
  assertEquals(v.layers[0].uncompressed, image.tars[0].byteLength);
  assertEquals(v.layers[0].compressed, image.layers[0].descriptor.size);
  assertEquals([v.layers[1].added, v.layers[1].modified, v.layers[1].deleted], [1, 1, 1]);
});

Deno.test("efficiency is the CLI's waste report, each wasted path with its layers", async () => {
  const store = await storeWith([{ name: "t:1", image: await testImage() }]);
  const a = await analysis(store, "t:1");
  const { fs } = await mergeImage(store, await resolveImage(store, "t:1"));
  const cli = analyzeWaste(fs);
  const e = a.efficiency();
  assertEquals(e.efficiency, cli.efficiency);
  assertEquals(e.wastedBytes, cli.wastedBytes);
  assertEquals(e.paths.map((p) => p.path), cli.paths.map((p) => p.path));
  const bigA = e.paths.find((p) => p.path === "big/a.bin")!;
  assertEquals(bigA.events.map((x) => [x.layer, x.kind, x.via]), [
    [0, "added", undefined],
    [1, "deleted", "big"],
  ]);
});

Deno.test("search matches globs and substrings in every layer; provenance tells a path's story", async () => {
  const store = await storeWith([{ name: "t:1", image: await testImage() }]);
  const a = await analysis(store, "t:1");
  const hits = a.search("passwd").hits.map((h) => [h.path, h.layer, h.present]);
  assertEquals(hits, [["etc/passwd", 0, true], ["etc/passwd", 1, true]]);
  assertEquals(a.search("big/*.bin").hits.map((h) => h.present), [false, false]);
  assertEquals(a.search("*.txt").hits.map((h) => h.path), ["data/old.txt", "new.txt"]);
  const p = a.provenance("/etc/passwd");
  assertEquals(p.events.map((x) => [x.layer, x.kind]), [[0, "added"], [1, "modified"]]);
  assertEquals(p.final?.size, 9);
  assertEquals(a.provenance("data/old.txt").events.map((x) => [x.layer, x.kind]), [
    [0, "added"],
    [2, "deleted"],
  ]);
  assert(globMatcher("**/*.bin")("big/a.bin"));
  assert(globMatcher("/etc/p?sswd")("etc/passwd"));
  assert(!globMatcher("etc/*")("etc/x/y"));
  assert(globMatcher("[ab].bin")("big/a.bin"));
});

Deno.test("the security glance flags setuid, world-writable and sticky; links resolve", async () => {
  const store = await storeWith([{ name: "t:1", image: await testImage() }]);
  const a = await analysis(store, "t:1");
  const flagged = Object.fromEntries(a.flagged().map((f) => [f.path, f.flags]));
  assertEquals(flagged, {
    "new.txt": ["world-writable"],
    "tmp": ["world-writable", "sticky"],
    "usr/bin/su": ["setuid"],
  });
  assertEquals(a.resolve("bin/link").path, "bin/sh");
  assertThrows(() => a.resolve("nowhere"), Error, "leads nowhere");
});

Deno.test("compare: files added, removed and changed, config differences, shared layers", async () => {
  const one = await testImage();
  const two = await buildImage({
    layers: [{ files: base }, { files: [{ path: "srv/x", content: "x" }] }],
    config: { Env: ["A=1", "B=3"], Cmd: ["bash"], Labels: {} },
  });
  const store = await storeWith([{ name: "a:1", image: one }, { name: "b:1", image: two }]);
  const a = await analysis(store, "a:1");
  const b = await analysis(store, "b:1");
  const r = compareImages(a, b, {
    a: configSummary(a.image.config),
    b: configSummary(b.image.config),
  });
  const kinds = Object.fromEntries(r.files.map((f) => [f.path, f.kind]));
  assertEquals(kinds["srv/x"], "added");
  assertEquals(kinds["new.txt"], "removed");
  assertEquals(kinds["big/a.bin"], "added");
  assertEquals(kinds["etc/passwd"], "changed");
  assertEquals(r.shared.length, 1);
  assertEquals([r.onlyA.length, r.onlyB.length], [2, 1]);
  assertEquals(r.config.map((c) => c.field), ["Cmd", "Env B", "Label x"]);
  assertEquals(
    compareConfigs(configSummary(a.image.config), configSummary(a.image.config)),
    [],
  );
});

Deno.test("package databases: dpkg status (installed only) and apk installed", () => {
  const dpkg = parseDpkgStatus(
    "Package: b\nStatus: install ok installed\nVersion: 2\n\n" +
      "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n" +
      "Package: a\nStatus: install ok installed\nVersion: 1\nInstalled-Size: 2\n",
  );
  assertEquals(dpkg, [{ name: "a", version: "1", size: 2048 }, { name: "b", version: "2" }]);
  assertEquals(parseApkInstalled("C:x\nP:busybox\nV:1.36\nA:x86_64\nI:100\n\nP:musl\nV:1\n"), [
    { name: "busybox", version: "1.36", arch: "x86_64", size: 100 },
    { name: "musl", version: "1" },
  ]);
});

Deno.test("indexing stops when its signal aborts", async () => {
  const store = await storeWith([{ name: "t:1", image: await testImage() }]);
  const image = await resolveImage(store, "t:1");
  const ac = new AbortController();
  ac.abort(new DOMException("stop", "AbortError"));
  await assertRejects(() => indexImageLayers(store, image, { signal: ac.signal }));
  let bytes = 0;
  await indexImageLayers(store, image, { onBytes: (b) => bytes = b });
  assertEquals(bytes, image.manifest.layers.reduce((n, d) => n + d.size, 0));
});
