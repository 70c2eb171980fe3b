/**
 * The store's merged listings (lading-cache/merged/): the first `ls` or `cat` of an image
 * writes one, the next ones answer from it exactly as the merge did, and one that is
 * damaged, truncated or made from other layers is made again. Never a source of bytes.
 */
import { openFsStore } from "../../src/store/fs.ts";
import { listingChecksum } from "../../src/layers/merged_listing.ts";
import { assert, assertEquals, assertNotEquals, assertStringIncludes } from "../assert.ts";
import { buildImage, type BuiltImage, type FileSpec } from "../helpers/images.ts";
import { putImage } from "../layers/util.ts";
import { lading, show } from "./_run.ts";

const MERGED = "lading-cache/merged";

const file = (path: string, content = `${path}\n`): FileSpec => ({ path, content });
const sym = (path: string, linkname: string): FileSpec => ({ path, type: "symlink", linkname });
const hard = (path: string, linkname: string): FileSpec => ({ path, type: "link", linkname });

function listings(store: string): string[] {
  try {
    return [...Deno.readDirSync(`${store}/${MERGED}`)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

async function withStore(
  images: Record<string, BuiltImage>,
  fn: (store: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lading-merged-" });
  try {
    const store = await openFsStore(`${dir}/store`, { create: true });
    try {
      for (const [name, image] of Object.entries(images)) await putImage(store, name, image);
    } finally {
      await store.close();
    }
    await fn(`${dir}/store`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whiteouts, an opaque directory, symlink chains, hardlinks, a duplicate path. */
const tricky = () =>
  buildImage({
    layers: [
      {
        files: [
          file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
          file("etc/shadow", "root:*:1::::::\n"),
          file("usr/lib/libc.so", "ELF\n"),
          sym("lib", "usr/lib"),
          sym("bin", "/usr/bin"),
          file("usr/bin/sh", "#!sh\n"),
          sym("usr/bin/ash", "sh"),
          sym("loop1", "loop2"),
          sym("loop2", "loop1"),
          file("opq/a"),
          file("opq/sub/b"),
          file("wh/x"),
          file("wh/y"),
          { path: "dev/null", type: "character-device" },
        ],
      },
      {
        files: [
          file("opq/.wh..wh..opq", ""),
          file("opq/c"),
          file("wh/.wh.x", ""),
          file("etc/passwd", "root:x:0:0::/root:/bin/ash\n"),
          file("lib/via-parent", "through the lib symlink\n"),
          hard("hl", "lib/libc.so"),
          sym("chain1", "chain2"),
          sym("chain2", "/etc/../etc/passwd"),
          sym("to-dev", "/dev/null"),
          file("dup", "first\n"),
          file("dup", "second\n"),
        ],
      },
    ],
  });

const CASES: string[][] = [
  ["ls", "-R", "img:1"],
  ["ls", "-lR", "img:1"],
  ["ls", "--json", "-R", "img:1"],
  ["ls", "img:1"],
  ["ls", "img:1", "/bin"],
  ["ls", "-l", "img:1", "/lib"],
  ["ls", "img:1", "opq"],
  ["ls", "img:1", "/wh/x"],
  ["ls", "img:1", "/loop1/x"],
  ["cat", "img:1", "/etc/passwd"],
  ["cat", "img:1", "/bin/ash"],
  ["cat", "img:1", "chain1"],
  ["cat", "img:1", "hl"],
  ["cat", "img:1", "/usr/lib/via-parent"],
  ["cat", "img:1", "/lib/via-parent"],
  ["cat", "img:1", "dup"],
  ["cat", "img:1", "opq/a"],
  ["cat", "img:1", "wh/x"],
  ["cat", "img:1", "wh/y"],
  ["cat", "img:1", "etc"],
  ["cat", "img:1", "to-dev"],
  ["cat", "img:1", "loop1"],
  ["cat", "img:1", "missing"],
];

async function runAll(store: string) {
  const out: string[] = [];
  for (const args of CASES) {
    const r = await lading(store, args);
    out.push(`${args.join(" ")}\n${r.code}\n${r.stdout}\n${r.stderr}`);
  }
  return out;
}

Deno.test("the second ls and cat of an image answer from its merged listing exactly as the merge did", async () => {
  await withStore({ "img:1": await tricky() }, async (store) => {
    // Each command once with nothing kept, then with the listing the first one wrote.
    const first: string[] = [];
    for (const args of CASES) {
      await Deno.remove(`${store}/lading-cache`, { recursive: true }).catch(() => {});
      const r = await lading(store, args);
      first.push(`${args.join(" ")}\n${r.code}\n${r.stdout}\n${r.stderr}`);
    }
    assertEquals(listings(store).length, 1);
    const second = await runAll(store);
    assertEquals(second, first);
    const byCase = new Map(CASES.map((c, i) => [c.join(" "), first[i]]));
    // The semantics the listing keeps (spot checks of what both runs printed).
    assertStringIncludes(byCase.get("cat img:1 /etc/passwd")!, "/bin/ash");
    assertStringIncludes(byCase.get("cat img:1 /bin/ash")!, "#!sh");
    assertStringIncludes(byCase.get("cat img:1 chain1")!, "/bin/ash");
    assertStringIncludes(byCase.get("cat img:1 hl")!, "ELF");
    assertStringIncludes(byCase.get("cat img:1 /lib/via-parent")!, "through the lib symlink");
    assertStringIncludes(byCase.get("cat img:1 dup")!, "second");
    assertStringIncludes(byCase.get("cat img:1 dup")!, "appears twice");
    assertStringIncludes(byCase.get("cat img:1 wh/y")!, "wh/y");
    for (const gone of ["cat img:1 opq/a", "cat img:1 wh/x", "cat img:1 missing"]) {
      assertStringIncludes(byCase.get(gone)!, "\n1\n\nlading: ");
      assertStringIncludes(byCase.get(gone)!, "no such file");
    }
    assertStringIncludes(byCase.get("cat img:1 etc")!, "is a directory");
    assertStringIncludes(
      byCase.get("cat img:1 to-dev")!,
      "is a character-device, not a regular file",
    );
    assertStringIncludes(byCase.get("cat img:1 loop1")!, "too many levels of symbolic links");
    assertStringIncludes(byCase.get("ls img:1 opq")!, "opq/c\n");
    assert(!byCase.get("ls -R img:1")!.includes("opq/a"));
    assertStringIncludes(byCase.get("ls -R img:1")!, "usr/lib/via-parent\n");
    // ls needs neither the layer index nor the layer blobs any more; cat needs the blob.
    await Deno.remove(`${store}/lading-cache/layers`, { recursive: true });
    const manifest = JSON.parse((await lading(store, ["manifest", "img:1"])).stdout);
    for (const l of manifest.layers) {
      await Deno.rename(
        `${store}/blobs/sha256/${l.digest.slice(7)}`,
        `${store}/${l.digest.slice(7)}`,
      );
    }
    const third = await runAll(store);
    for (const [i, args] of CASES.entries()) {
      if (args[0] === "ls") assertEquals(third[i], first[i]);
      else if (first[i].split("\n")[1] === "0") {
        assertStringIncludes(third[i], "not found in store", args.join(" "));
      }
    }
  });
});

Deno.test("a damaged, truncated or foreign merged listing is made again", async () => {
  const other = await buildImage({ layers: [{ files: [file("etc/passwd", "other\n")] }] });
  await withStore({ "img:1": await tricky(), "other:1": other }, async (store) => {
    const good = await lading(store, ["ls", "-lR", "img:1"]);
    assertEquals(good.code, 0, show(good));
    const [name] = listings(store);
    const path = `${store}/${MERGED}/${name}`;
    const bytes = await Deno.readFile(path);
    const spoil = async (spoiled: Uint8Array) => {
      await Deno.writeFile(path, spoiled);
      const again = await lading(store, ["ls", "-lR", "img:1"]);
      assertEquals([again.code, again.stdout, again.stderr], [0, good.stdout, good.stderr]);
      assertEquals(await Deno.readFile(path), bytes); // written again
    };
    const flipped = bytes.slice();
    flipped[bytes.byteLength >> 1] ^= 0x01;
    await spoil(flipped);
    await spoil(bytes.subarray(0, bytes.byteLength >> 1));
    await spoil(new Uint8Array(0));
    // Another image's listing, under this image's name.
    assertEquals((await lading(store, ["ls", "other:1"])).code, 0);
    const otherName = listings(store).find((n) => n !== name)!;
    await spoil(await Deno.readFile(`${store}/${MERGED}/${otherName}`));
    assertEquals((await lading(store, ["cat", "other:1", "etc/passwd"])).stdout, "other\n");
  });
});

Deno.test("a tampered merged listing cannot make cat print another file's bytes", async () => {
  await withStore({ "img:1": await tricky() }, async (store) => {
    assertEquals((await lading(store, ["ls", "img:1"])).code, 0);
    const [name] = listings(store);
    const path = `${store}/${MERGED}/${name}`;
    const text = await Deno.readTextFile(path);
    // Give etc/passwd the member of etc/shadow (and a checksum that fits).
    const lines = text.slice(0, text.lastIndexOf("#")).split("\n");
    const at = (p: string) => lines.findIndex((l) => l.startsWith(`${p}\t`));
    const passwd = lines[at("etc/passwd")].split("\t");
    const shadow = lines[at("etc/shadow")].split("\t");
    assertNotEquals(passwd[15], shadow[15]);
    passwd[15] = shadow[15];
    lines[at("etc/passwd")] = passwd.join("\t");
    const body = new TextEncoder().encode(lines.join("\n"));
    await Deno.writeTextFile(path, `${lines.join("\n")}#${listingChecksum(body)}\n`);
    const cat = await lading(store, ["cat", "img:1", "/etc/passwd"]);
    assert(!cat.stdout.includes("root:*"), cat.stdout);
    assertEquals(cat.code, 1, show(cat));
    assertStringIncludes(cat.stderr, "layer index");
  });
});

Deno.test("gc removes the merged listings that name a removed layer", async () => {
  const other = await buildImage({ layers: [{ files: [file("x")] }] });
  await withStore({ "img:1": await tricky(), "other:1": other }, async (store) => {
    await lading(store, ["ls", "img:1"]);
    await lading(store, ["ls", "other:1"]);
    await Deno.writeTextFile(`${store}/${MERGED}/stray.tmp`, "x");
    // A listing under a name no lookup uses (e.g. written by an older lading).
    const [first] = listings(store);
    await Deno.copyFile(`${store}/${MERGED}/${first}`, `${store}/${MERGED}/0000000000000000.list`);
    assertEquals(listings(store).length, 4);
    assertEquals((await lading(store, ["content", "verify"])).code, 0);
    await lading(store, ["images", "rm", "other:1"]);
    const gc = await lading(store, ["gc"]);
    assertEquals(gc.code, 0, show(gc));
    assertStringIncludes(gc.stdout, `${MERGED}/stray.tmp`);
    assertStringIncludes(gc.stdout, `${MERGED}/0000000000000000.list`);
    assertEquals(listings(store).length, 1);
    assertEquals((await lading(store, ["cat", "img:1", "hl"])).stdout, "ELF\n");
  });
});
