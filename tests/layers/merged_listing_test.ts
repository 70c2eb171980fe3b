import { InvalidInputError } from "../../src/errors.ts";
import { type CachedEntry, mergeImage } from "../../src/layers/image_layers.ts";
import { linkRoot, type MergedFilesystem, nodePath } from "../../src/layers/merged_fs.ts";
import {
  encodeMergedListing,
  listingChecksum,
  type ListingSource,
  MergedListing,
} from "../../src/layers/merged_listing.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import type { FileSpec } from "../helpers/images.ts";
import { paxMember, rawMember } from "../helpers/tars.ts";
import { rawLayer, storedImage } from "./util.ts";

const dir = (path: string): FileSpec => ({ path, type: "directory" });
const file = (path: string, content = path): FileSpec => ({ path, content });
const sym = (path: string, linkname: string): FileSpec => ({ path, type: "symlink", linkname });
const hard = (path: string, linkname: string): FileSpec => ({ path, type: "link", linkname });

/** An image with every kind of path resolution the merge does, and its merged listing. */
async function tricky() {
  const { store, image } = await storedImage({
    layers: [
      {
        files: [
          dir("etc/"),
          file("etc/passwd"),
          file("etc/shadow"),
          dir("usr/lib/"),
          file("usr/lib/libc.so"),
          sym("lib", "usr/lib"),
          sym("bin", "/usr/bin"),
          file("usr/bin/sh"),
          sym("usr/bin/ash", "sh"),
          sym("loop1", "loop2"),
          sym("loop2", "loop1"),
          sym("escape", "../../../etc/passwd"),
          hard("hl", "etc/passwd"),
          file("opq/a"),
          file("opq/sub/b"),
          file("wh/x"),
          file("wh/y"),
          file("gone/deep/file"),
          dir("a-b/"),
          file("a/b"),
          file("a.b"),
        ],
      },
      rawLayer([
        rawMember({ name: "dev/", type: "5", mode: 0o755 }),
        rawMember({ name: "dev/null", type: "3", devmajor: 1, devminor: 3, mode: 0o666 }),
        rawMember({ name: "odd\tname", body: "tab\n", uname: "app", gname: "staff" }),
        rawMember({ name: "new\nline", body: "newline\n" }),
        rawMember({ name: '"quoted', body: "quote\n" }),
        paxMember({ path: `long/${"n".repeat(150)}`, mtime: "1700000000.5" }),
        rawMember({ name: "ignored", body: "long\n", uid: 1000, gid: 1000 }),
        rawMember({ name: "lib/via-symlinked-parent", body: "parent\n" }),
        rawMember({ name: "hl-dev", type: "1", linkname: "dev/null" }),
      ]),
      {
        files: [
          file("opq/.wh..wh..opq", ""),
          file("opq/c"),
          file("wh/.wh.x", ""),
          file(".wh.gone", ""),
          file("etc/passwd", "root:x:0:0\n"),
          hard("hl2", "lib/libc.so"),
          sym("chain1", "chain2"),
          sym("chain2", "/etc/../etc/passwd"),
          sym("to-hl", "hl"),
          hard("hard-sym", "usr/bin/ash"),
          sym("etc-link", "/etc"),
        ],
      },
    ],
  });
  const { fs } = await mergeImage(store, image, { trackChanges: false, trackVersions: false });
  const entries: CachedEntry[][] = [];
  const { readImageLayers } = await import("../../src/layers/image_layers.ts");
  await readImageLayers(store, image, {
    onEntry: (i, e) => void (entries[i] ??= []).push(e),
  });
  const source: ListingSource = {
    layers: image.manifest.layers,
    diffIds: image.config.rootfs.diff_ids,
  };
  const bytes = encodeMergedListing(fs, {
    source,
    warnings: ["a warning"],
    member: (ref) => {
      const e = entries[ref.layer][ref.entry];
      return { path: e.path, size: e.size, start: e.start ?? e.offset };
    },
  });
  return { fs, bytes, source, entries, listing: MergedListing.decode(bytes, source)! };
}

/** What lookup gives in both, or the error message. */
function answer(
  fs: MergedFilesystem,
  listing: MergedListing,
  path: string,
  follow: boolean,
): [string, string] {
  let a: string;
  let b: string;
  try {
    const n = fs.lookup(path, { follow });
    a = n ? nodePath(n) : "(none)";
  } catch (e) {
    a = `${(e as Error).name}: ${(e as Error).message}`;
  }
  try {
    const i = listing.lookup(path, { follow });
    b = i === undefined ? "(none)" : listing.path(i);
  } catch (e) {
    b = `${(e as Error).name}: ${(e as Error).message}`;
  }
  return [a, b];
}

Deno.test("a merged listing lists, looks up and describes every path as the merged filesystem does", async () => {
  const { fs, listing, entries } = await tricky();
  assertEquals(listing.warnings, ["a warning"]);
  // ls -R order, the root first.
  const walked = [...fs.walk()];
  assertEquals(listing.count, walked.length + 1);
  assertEquals(
    Array.from({ length: listing.count - 1 }, (_, i) => listing.path(i + 1)),
    walked.map((w) => w.path),
  );
  assert(walked.some((w) => w.path === "odd\tname") && walked.some((w) => w.path === "new\nline"));
  assert(!walked.some((w) => w.path.startsWith("gone") || w.path === "wh/x"));
  assertEquals(walked.filter((w) => w.path.startsWith("opq/")).map((w) => w.path), ["opq/c"]);
  for (const [i, { path, node }] of walked.entries()) {
    const at = listing.lookup(path)!;
    assertEquals(at, i + 1, path);
    const n = listing.node(at);
    const inode = linkRoot(node);
    assertEquals(
      {
        path: n.path,
        type: n.type,
        mode: n.mode,
        uid: n.uid,
        gid: n.gid,
        uname: n.uname,
        gname: n.gname,
        size: n.size,
        mtime: n.mtime,
        linkname: n.linkname,
        dev: [n.devmajor, n.devminor],
        layer: n.layer,
        addedBy: n.addedBy,
        modifiedBy: n.modifiedBy,
        content: n.content && [n.content.layer, n.content.entry],
        inodeType: n.inodeType,
      },
      {
        path,
        type: node.type,
        mode: node.mode,
        uid: node.uid,
        gid: node.gid,
        uname: node.uname,
        gname: node.gname,
        size: node.size,
        mtime: node.mtime,
        linkname: node.linkname,
        dev: [node.devmajor, node.devminor],
        layer: node.layer,
        addedBy: node.addedBy,
        modifiedBy: [...node.modifiedBy],
        content: node.content && [node.content.layer, node.content.entry],
        inodeType: inode.type,
      },
    );
    if (n.content) {
      // The member with the bytes, where the layer has it.
      const e = entries[n.content.layer][n.content.entry];
      assertEquals(n.content.path, e.path);
      assertEquals([n.content.size, n.content.start], [e.size, e.start ?? e.offset]);
    }
    if (node.children) {
      assertEquals(
        listing.children(at).map((c) => listing.path(c)),
        fs.children(node).map((c) => nodePath(c)),
      );
    }
  }
  // A member written through a symlinked parent, a hardlink through one, a PAX member.
  assertEquals(
    listing.node(listing.lookup("usr/lib/via-symlinked-parent")!).content?.path,
    "lib/via-symlinked-parent",
  );
  assertEquals(listing.node(listing.lookup("hl2")!).content?.path, "usr/lib/libc.so");
  const long = listing.node(listing.lookup(`long/${"n".repeat(150)}`)!);
  const member = entries[long.content!.layer][long.content!.entry];
  // (its first header block is the PAX header before it)
  assert(member.start !== undefined && member.start < member.offset);
  assertEquals([long.mtime, long.content!.start], [1700000000.5, member.start]);
  assertEquals(listing.node(listing.lookup("hard-sym")!).inodeType, "symlink");
  assertEquals(listing.node(listing.lookup("hl-dev")!).inodeType, "character-device");
});

Deno.test("a merged listing follows symlinks inside the image like the merged filesystem", async () => {
  const { fs, listing } = await tricky();
  const paths = [
    ...[...fs.walk()].map((w) => w.path),
    ".",
    "/",
    "lib/libc.so",
    "/lib/libc.so",
    "bin/sh",
    "bin/ash",
    "bin/nope",
    "etc-link/passwd",
    "etc-link/../etc/passwd",
    "chain1",
    "to-hl",
    "escape",
    "loop1",
    "loop1/x",
    "etc/passwd/x",
    "wh/x",
    "opq/a",
    "gone/deep/file",
    "missing",
    "a-b/x",
    "./etc//passwd/",
  ];
  for (const path of paths) {
    for (const follow of [false, true]) {
      const [a, b] = answer(fs, listing, path, follow);
      assertEquals(b, a, `${JSON.stringify(path)} follow=${follow}`);
    }
  }
  assertEquals(listing.path(listing.lookup("chain1", { follow: true })!), "etc/passwd");
  assertEquals(listing.path(listing.lookup("bin/ash", { follow: true })!), "usr/bin/sh");
  assertEquals(listing.lookup("wh/x"), undefined);
  assertThrows(
    () => listing.lookup("loop1", { follow: true }),
    InvalidInputError,
    "too many levels",
  );
  assertThrows(() => listing.lookup("../etc"), InvalidInputError, "..");
});

Deno.test("a merged listing made from other layers, damaged, truncated or of another version does not read", async () => {
  const { bytes, source } = await tricky();
  assert(MergedListing.decode(bytes, source));
  const otherLayer = {
    ...source,
    layers: source.layers.map((l, i) => i === 1 ? { ...l, digest: `sha256:${"0".repeat(64)}` } : l),
  } as ListingSource;
  assertEquals(MergedListing.decode(bytes, otherLayer), undefined);
  assertEquals(
    MergedListing.decode(bytes, { ...source, diffIds: source.diffIds.slice(1) }),
    undefined,
  );
  assertEquals(
    MergedListing.decode(bytes, { ...source, layers: source.layers.slice(0, 2) }),
    undefined,
  );
  for (const cut of [0, 1, 30, bytes.byteLength >> 1, bytes.byteLength - 2]) {
    assertEquals(MergedListing.decode(bytes.subarray(0, cut), source), undefined, `cut at ${cut}`);
  }
  const damaged = bytes.slice();
  damaged[bytes.byteLength >> 1] ^= 0x04;
  assertEquals(MergedListing.decode(damaged, source), undefined);
  // Another version, even with a good checksum.
  const text = new TextDecoder().decode(bytes);
  const body = new TextEncoder().encode(
    text.slice(0, text.lastIndexOf("#")).replace(
      "lading-merged-listing 1",
      "lading-merged-listing 9",
    ),
  );
  const resummed = new TextEncoder().encode(
    `${new TextDecoder().decode(body)}#${listingChecksum(body)}\n`,
  );
  assertEquals(MergedListing.decode(resummed, source), undefined);
  assertEquals(MergedListing.decode(new TextEncoder().encode("{}"), source), undefined);
});
