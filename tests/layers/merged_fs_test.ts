import { DigestMismatchError, InvalidInputError } from "../../src/errors.ts";
import { mergeImage } from "../../src/layers/image_layers.ts";
import { nodePath } from "../../src/layers/merged_fs.ts";
import { analyzeWaste } from "../../src/layers/waste.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import type { FileSpec } from "../helpers/images.ts";
import { storedImage } from "./util.ts";

const dir = (path: string, mode = 0o755): FileSpec => ({ path, type: "directory", mode });
const file = (path: string, content = path, mode?: number): FileSpec => ({ path, content, mode });
const sym = (path: string, linkname: string): FileSpec => ({ path, type: "symlink", linkname });
const hard = (path: string, linkname: string): FileSpec => ({ path, type: "link", linkname });

async function merged(...layers: FileSpec[][]) {
  const warnings: string[] = [];
  const { store, image } = await storedImage({ layers: layers.map((files) => ({ files })) });
  const m = await mergeImage(store, image, { onWarning: (w) => warnings.push(w) });
  const paths = [...m.fs.walk()].map(({ path, node }) =>
    node.type === "directory"
      ? `${path}/`
      : node.type === "symlink"
      ? `${path} -> ${node.linkname}`
      : path
  );
  return { ...m, paths, warnings };
}

Deno.test("mergeImage() applies layers in order with provenance", async () => {
  const { fs, paths, layers } = await merged(
    [dir("etc/"), file("etc/a"), file("etc/b"), dir("usr/"), file("usr/x")],
    [file("etc/a", "changed"), file("etc/.wh.b", ""), file("etc/c")],
  );
  assertEquals(paths, ["etc/", "etc/a", "etc/c", "usr/", "usr/x"]);
  const a = fs.lookup("etc/a")!;
  assertEquals([a.addedBy, a.modifiedBy, a.layer, a.size], [0, [1], 1, 7]);
  assertEquals(fs.deleted.get("etc/b")?.deletedBy, 1);
  assertEquals(
    fs.changes[1].map((c) => `${c.kind} ${c.path}`).sort(),
    ["added etc/c", "deleted etc/b", "modified etc/a"],
  );
  assertEquals(layers.map((l) => l.verified), [true, true]);
  assertEquals(layers.map((l) => l.files), [3, 2]);
  assertEquals(layers[1].whiteouts, 1);
});

Deno.test("a whiteout of a directory deletes its subtree", async () => {
  const { paths, fs } = await merged(
    [file("d/x"), file("d/sub/y"), file("keep")],
    [file(".wh.d", "")],
  );
  assertEquals(paths, ["keep"]);
  const c = fs.changes[1];
  assertEquals(c.map((x) => [x.kind, x.path, x.size]), [["deleted", "d", 10]]);
  assertEquals(fs.deleted.get("d/sub/y")?.deletedBy, 1);
});

Deno.test("an opaque directory hides only lower layers, before or after its siblings", async () => {
  for (
    const layer1 of [
      [file("d/.wh..wh..opq", ""), file("d/new"), file("d/sub/n2")],
      [file("d/new"), file("d/sub/n2"), file("d/.wh..wh..opq", "")],
    ]
  ) {
    const { paths } = await merged([file("d/old"), file("d/sub/old2"), file("other")], layer1);
    assertEquals(paths, ["d/", "d/new", "d/sub/", "d/sub/n2", "other"]);
  }
});

Deno.test("a whiteout spares the file its own layer writes, in either order", async () => {
  for (
    const layer1 of [[file(".wh.f", ""), file("f", "new")], [file("f", "new"), file(".wh.f", "")]]
  ) {
    const { fs } = await merged([file("f", "old")], layer1);
    assertEquals(fs.lookup("f")?.size, 3);
    assertEquals(fs.lookup("f")?.layer, 1);
  }
});

Deno.test("a whiteout of a missing path or under a missing directory changes nothing", async () => {
  const { paths } = await merged([file("a")], [file("nope/.wh.x", ""), file(".wh.ghost", "")]);
  assertEquals(paths, ["a"]);
});

Deno.test("aufs bookkeeping entries (.wh..wh.plnk) are ignored", async () => {
  const { paths } = await merged([file("a"), file(".wh..wh.plnk/123.456", "")]);
  assertEquals(paths, ["a"]);
});

Deno.test("a symlinked parent is followed inside the image: a file written through it lands in the image", async () => {
  const { paths, fs } = await merged(
    [file("etc/passwd", "root"), sym("a", "/etc"), sym("rel", "../../../../etc")],
    [file("a/passwd", "through-abs"), file("rel/shadow", "through-rel")],
  );
  assertEquals(paths, ["a -> /etc", "etc/", "etc/passwd", "etc/shadow", "rel -> ../../../../etc"]);
  assertEquals(fs.lookup("etc/passwd")?.size, "through-abs".length);
  assertEquals(fs.changes[1].map((c) => `${c.kind} ${c.path}`), [
    "modified etc/passwd",
    "added etc/shadow",
  ]);
});

Deno.test("a relative symlink escaping the root is clamped to the root", async () => {
  const { paths } = await merged([sym("esc", "../../outside"), file("esc/x", "x")]);
  assertEquals(paths, ["esc -> ../../outside", "outside/", "outside/x"]);
});

Deno.test("a whiteout under a symlinked parent deletes inside the image only", async () => {
  const { paths } = await merged(
    [file("etc/passwd"), file("etc/group"), sym("a", "/etc"), sym("up", "../..")],
    [file("a/.wh.passwd", ""), file("up/.wh.nothing", "")],
  );
  assertEquals(paths, ["a -> /etc", "etc/", "etc/group", "up -> ../.."]);
});

Deno.test("a directory replaced by a symlink part way: later members follow the new symlink", async () => {
  const { paths, fs } = await merged(
    [file("d/x"), file("target/keep")],
    [sym("d", "/target"), file("d/y")],
  );
  assertEquals(paths, ["d -> /target", "target/", "target/keep", "target/y"]);
  assertEquals(fs.deleted.get("d/x")?.deletedBy, 1);
});

Deno.test("the root cannot become a symlink or a file", async () => {
  for (const spec of [sym("./", "/tmp"), sym(".", "/tmp"), file("./", "x")]) {
    const { store, image } = await storedImage({ layers: [{ files: [spec] }] });
    await assertRejects(() => mergeImage(store, image), InvalidInputError, "root");
  }
});

Deno.test("the root directory entry updates the root's metadata", async () => {
  const { fs } = await merged([dir("./", 0o700), file("a")]);
  assertEquals(fs.root.mode, 0o700);
  assertEquals(nodePath(fs.root), ".");
});

Deno.test("hardlinks share the target's bytes, even after the target is replaced", async () => {
  const { fs } = await merged([file("a", "AAAA"), hard("b", "a"), hard("c", "./b")], [
    file("a", "new"),
  ]);
  const b = fs.lookup("b")!;
  const c = fs.lookup("c")!;
  assertEquals([b.type, b.size, b.content], ["hardlink", 4, { layer: 0, entry: 0 }]);
  assertEquals(c.content, { layer: 0, entry: 0 });
  assertEquals(fs.lookup("a")!.content, { layer: 1, entry: 0 });
});

Deno.test("a hardlink to a symlink links the symlink itself", async () => {
  const { fs } = await merged([file("t"), sym("s", "t"), hard("h", "s")]);
  const h = fs.lookup("h")!;
  assertEquals(h.target?.type, "symlink");
  assertEquals(h.content, undefined);
});

for (
  const [what, files, message] of [
    ["outside the root", [file("a"), hard("h", "../a")], "'..'"],
    ["a path not extracted yet", [hard("h", "later"), file("later")], "does not exist"],
    ["a directory", [dir("d/"), hard("h", "d")], "directory"],
  ] as const
) {
  Deno.test(`a hardlink to ${what} is refused`, async () => {
    const { store, image } = await storedImage({ layers: [{ files: [...files] }] });
    await assertRejects(() => mergeImage(store, image), InvalidInputError, message);
  });
}

Deno.test("a duplicate path in one layer: the last wins and it is reported", async () => {
  const { fs, warnings } = await merged([file("a", "first"), file("a", "second!")]);
  assertEquals(fs.lookup("a")?.size, 7);
  assertEquals(fs.duplicates, [{ layer: 0, path: "a" }]);
  assert(warnings.some((w) => w.includes('"a" appears twice')));
  assertEquals(fs.changes[0].map((c) => `${c.kind} ${c.path}`), ["added a"]);
});

Deno.test("a directory over a directory keeps its children and takes the new metadata", async () => {
  const { fs, paths } = await merged([dir("d/"), file("d/x")], [dir("d/", 0o700)]);
  assertEquals(paths, ["d/", "d/x"]);
  assertEquals(fs.lookup("d")?.mode, 0o700);
  assertEquals(fs.lookup("d")?.modifiedBy, [1]);
});

Deno.test("a file over a directory replaces the whole subtree", async () => {
  const { paths, fs } = await merged([file("d/x"), file("d/y")], [file("d", "now a file")]);
  assertEquals(paths, ["d"]);
  assertEquals(fs.deleted.has("d/x"), true);
});

Deno.test("a member under a file is refused", async () => {
  const { store, image } = await storedImage({ layers: [{ files: [file("f"), file("f/x")] }] });
  await assertRejects(() => mergeImage(store, image), InvalidInputError, "not a directory");
});

Deno.test("a symlink loop in a parent is refused", async () => {
  const { store, image } = await storedImage({
    layers: [{ files: [sym("a", "b"), sym("b", "a"), file("a/x")] }],
  });
  await assertRejects(() => mergeImage(store, image), InvalidInputError, "symbolic links");
});

Deno.test("lookup() follows symlinks inside the image when asked", async () => {
  const { fs } = await merged([
    file("etc/os-release", "x"),
    sym("usr/lib/os-release", "../../etc/os-release"),
    sym("abs", "/etc"),
  ]);
  assertEquals(fs.lookup("usr/lib/os-release")?.type, "symlink");
  assertEquals(fs.lookup("usr/lib/os-release", { follow: true })?.type, "file");
  assertEquals(fs.lookup("/abs/os-release", { follow: true })?.type, "file");
  assertEquals(fs.lookup("abs/missing"), undefined);
});

Deno.test("mergeImage() names the layer, expected and actual diff_id on a mismatch", async () => {
  const { store, image, built } = await storedImage({
    layers: [{ files: [file("a")] }, { files: [file("b")] }],
  });
  const bad = {
    ...image,
    config: {
      ...image.config,
      rootfs: { type: "layers", diff_ids: [built.diffIds[0], built.diffIds[0]] },
    },
  };
  const e = await assertRejects(() => mergeImage(store, bad), DigestMismatchError);
  assert(e.message.includes("layer 1"), e.message);
  assertEquals([e.expected, e.actual], [built.diffIds[0], built.diffIds[1]]);
});

Deno.test("analyzeWaste() counts overwritten and deleted bytes like dive", async () => {
  const { fs } = await merged(
    [file("big", "x".repeat(1000)), file("gone", "y".repeat(500)), file("same", "z")],
    [file("big", "x".repeat(10)), file(".wh.gone", "")],
  );
  const r = analyzeWaste(fs);
  assertEquals(r.totalBytes, 1511);
  assertEquals(r.wastedBytes, 1500);
  assertEquals(r.finalBytes, 11);
  assertEquals(r.paths.map((p) => [p.path, p.wasted, p.count]), [["big", 1000, 2], [
    "gone",
    500,
    2,
  ]]);
  // dive: (10 + 500 + 1) / (1010 + 1000 + 1)
  assertEquals(r.efficiency.toFixed(6), (511 / 2011).toFixed(6));
});

Deno.test("analyzeWaste() scores an image without waste as 1", async () => {
  const { fs } = await merged([file("a")], [file("b")]);
  const r = analyzeWaste(fs);
  assertEquals([r.efficiency, r.wastedBytes, r.paths], [1, 0, []]);
});
