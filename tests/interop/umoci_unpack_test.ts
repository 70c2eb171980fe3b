/**
 * Interop: lading's `unpack` against `umoci unpack` of the same image. Same paths, types,
 * modes, link targets, contents and hardlink groups (ignoring umoci's bundle files beside
 * `rootfs/`). Skipped with a visible message when umoci is missing, except under CI=true,
 * where a missing umoci fails.
 * @module
 */
import { createHash } from "node:crypto";
import { resolveImage } from "../../src/image.ts";
import { unpackImage } from "../../src/deno/unpack_fs.ts";
import { writeBlob } from "../../src/store/blob.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { assertEquals } from "../assert.ts";
import { blobsOf, buildImage, type FileSpec, layoutFiles } from "../helpers/images.ts";

async function hasUmoci(): Promise<boolean> {
  try {
    const r = await new Deno.Command("umoci", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return r.success;
  } catch {
    return false;
  }
}

interface Item {
  type: string;
  mode: number;
  link?: string;
  sha256?: string;
  /** index of the first path with the same inode (hardlink group), for files */
  group?: string;
}

/** path -> what matters of it, for a whole tree. */
async function snapshot(root: string): Promise<Map<string, Item>> {
  const out = new Map<string, Item>();
  const inodes = new Map<number, string>();
  const visit = async (rel: string) => {
    const p = rel ? `${root}/${rel}` : root;
    const st = await Deno.lstat(p);
    const mode = st.mode! & 0o7777;
    const key = rel || ".";
    if (st.isSymlink) out.set(key, { type: "symlink", mode: 0, link: await Deno.readLink(p) });
    else if (st.isFile) {
      const first = inodes.get(st.ino!);
      if (first === undefined) inodes.set(st.ino!, key);
      out.set(key, {
        type: "file",
        mode,
        sha256: createHash("sha256").update(await Deno.readFile(p)).digest("hex"),
        group: first ?? key,
      });
    } else if (st.isDirectory) {
      out.set(key, { type: "dir", mode });
      const names: string[] = [];
      for await (const e of Deno.readDir(p)) names.push(e.name);
      for (const n of names.sort()) await visit(rel ? `${rel}/${n}` : n);
    } else out.set(key, { type: "other", mode });
  };
  await visit("");
  return out;
}

const dir = (path: string, mode = 0o755): FileSpec => ({ path, type: "directory", mode });
const file = (path: string, content: string, mode = 0o644): FileSpec => ({ path, content, mode });
const sym = (path: string, linkname: string): FileSpec => ({ path, type: "symlink", linkname });
const hard = (path: string, linkname: string): FileSpec => ({ path, type: "link", linkname });

Deno.test("unpackImage() gives the same tree as umoci unpack", async () => {
  if (!(await hasUmoci())) {
    if (Deno.env.get("CI") === "true") {
      throw new Error("umoci is required in CI (apt-get install umoci)");
    }
    console.log("skipped: umoci not found (install it to run this interop test)");
    return;
  }
  const image = await buildImage({
    layers: [
      {
        files: [
          dir("bin/"),
          file("bin/busybox", "#!/bin/sh\necho busybox\n".repeat(100), 0o755),
          hard("bin/sh", "bin/busybox"),
          sym("bin/ls", "busybox"),
          dir("etc/"),
          file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
          file("etc/shadow", "root:*:1::::::\n", 0o600),
          file("etc/old.conf", "old\n"),
          dir("etc/conf.d/"),
          file("etc/conf.d/a", "a\n"),
          file("etc/conf.d/b", "b\n"),
          dir("tmp/", 0o1777),
          dir("var/"),
          dir("var/cache/"),
          file("var/cache/big", "x".repeat(300_000)),
          sym("var/run", "/run"),
          dir("run/"),
          dir("opt/data/", 0o700),
          file("opt/data/secret", "s", 0o400),
          file("usr/lib/os-release", "NAME=lading\n"),
          sym("etc/os-release", "../usr/lib/os-release"),
        ],
        compression: "gzip",
      },
      {
        files: [
          file("etc/.wh.old.conf", ""),
          file("etc/conf.d/.wh..wh..opq", ""),
          file("etc/conf.d/c", "c\n"),
          file("var/cache/.wh.big", ""),
          file(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/ash\nnobody:x:65534:65534::/:/bin/false\n",
          ),
          file("usr/local/bin/tool", "tool", 0o750),
          dir("etc/", 0o750),
          dir("opt/", 0o711),
        ],
        compression: "none",
      },
      {
        files: [
          file("bin/busybox", "new busybox", 0o755),
          sym("usr/local/bin/tool", "/bin/busybox"),
          file("etc/conf.d/d", "d\n"),
        ],
        compression: "gzip",
      },
    ],
  });
  const top = await Deno.makeTempDir({ prefix: "lading-umoci-" });
  try {
    // the image as an OCI layout for umoci
    const layout = `${top}/layout`;
    for (
      const [path, bytes] of layoutFiles(
        [{ descriptor: image.manifest.descriptor, refName: "test" }],
        blobsOf(image),
      )
    ) {
      await Deno.mkdir(`${layout}/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeFile(`${layout}/${path}`, bytes);
    }
    const umoci = await new Deno.Command("umoci", {
      args: ["unpack", "--rootless", "--image", `${layout}:test`, `${top}/bundle`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!umoci.success) throw new Error(`umoci failed: ${new TextDecoder().decode(umoci.stderr)}`);

    // the same image through a store and lading's unpack
    const store = new MemoryStore();
    for (const b of blobsOf(image)) await writeBlob(store, b.bytes, b.descriptor);
    await store.putImages([{ name: "test", target: image.manifest.descriptor }]);
    await unpackImage(store, await resolveImage(store, "test"), { dir: `${top}/lading` });

    const theirs = await snapshot(`${top}/bundle/rootfs`);
    const ours = await snapshot(`${top}/lading`);
    console.log(
      `comparing ${theirs.size} paths; root modes: umoci ${
        theirs.get(".")?.mode.toString(8)
      }, lading ${ours.get(".")?.mode.toString(8)}`,
    );
    theirs.delete(".");
    ours.delete(".");
    assertEquals([...ours.keys()], [...theirs.keys()], "the same paths");
    for (const [path, item] of theirs) assertEquals(ours.get(path), item, path);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});
