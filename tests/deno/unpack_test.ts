import { createHash } from "node:crypto";
import { AlreadyExistsError, InvalidInputError, LimitExceededError } from "../../src/errors.ts";
import { unpackImage, type UnpackOptions } from "../../src/deno/unpack_fs.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import type { FileSpec, LayerSpec } from "../helpers/images.ts";
import { paxMember, rawMember, rawTar } from "../helpers/tars.ts";
import { openLibc } from "../../src/deno/libc.ts";
import { rawLayer, storedImage } from "../layers/util.ts";

const file = (path: string, content = path, mode?: number): FileSpec => ({ path, content, mode });
const sym = (path: string, linkname: string): FileSpec => ({ path, type: "symlink", linkname });
const hard = (path: string, linkname: string): FileSpec => ({ path, type: "link", linkname });
const dir = (path: string, mode = 0o755): FileSpec => ({ path, type: "directory", mode });

/** A fingerprint of a directory tree: every path, its type, mode, link target and bytes. */
async function fingerprint(root: string): Promise<string> {
  const h = createHash("sha256");
  const visit = async (rel: string) => {
    const p = rel ? `${root}/${rel}` : root;
    const st = await Deno.lstat(p);
    h.update(`${rel}\0${st.mode}\0${st.size}\0${st.mtime?.getTime()}\0`);
    if (st.isSymlink) h.update(await Deno.readLink(p));
    else if (st.isFile) h.update(await Deno.readFile(p));
    else if (st.isDirectory) {
      const names = [];
      for await (const e of Deno.readDir(p)) names.push(e.name);
      for (const n of names.sort()) await visit(rel ? `${rel}/${n}` : n);
    }
  };
  await visit("");
  return h.digest("hex");
}

/** A temp dir with a sentinel directory beside the target. */
async function sandbox() {
  const top = await Deno.makeTempDir({ prefix: "lading-unpack-" });
  const sentinel = `${top}/sentinel`;
  await Deno.mkdir(`${sentinel}/sub`, { recursive: true });
  await Deno.writeTextFile(`${sentinel}/file`, "precious");
  await Deno.writeTextFile(`${sentinel}/sub/passwd`, "root:x:0:0");
  await Deno.symlink("../file", `${sentinel}/sub/link`);
  return { top, sentinel, out: `${top}/rootfs` };
}

interface Case {
  layers: (FileSpec[] | LayerSpec)[];
  options?: Omit<UnpackOptions, "dir">;
}

/** Unpacks, checking that nothing outside the target changed, whatever happens. */
async function unpackCase(
  make: (sentinel: string) => Case,
  check: (
    out: string,
    result: Awaited<ReturnType<typeof unpackImage>> | Error,
  ) => void | Promise<void>,
) {
  const { top, sentinel, out } = await sandbox();
  try {
    const before = await fingerprint(sentinel);
    const c = make(sentinel);
    const { store, image } = await storedImage({
      layers: c.layers.map((l) => (Array.isArray(l) ? { files: l } : l)),
    });
    let result: Awaited<ReturnType<typeof unpackImage>> | Error;
    try {
      result = await unpackImage(store, image, { ...c.options, dir: out });
    } catch (e) {
      result = e as Error;
    }
    assertEquals(await fingerprint(sentinel), before, "the sentinel directory changed");
    const names = [];
    for await (const e of Deno.readDir(top)) names.push(e.name);
    assert(names.every((n) => n === "sentinel" || n === "rootfs"), `unexpected ${names}`);
    await check(out, result);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
}

function ok(result: unknown): asserts result is Awaited<ReturnType<typeof unpackImage>> {
  if (result instanceof Error) throw result;
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}

Deno.test("unpackImage() writes files, modes, symlinks, hardlinks and mtimes", async () => {
  await unpackCase(() => ({
    layers: [
      [
        dir("etc/", 0o755),
        file("etc/hosts", "127.0.0.1 localhost\n", 0o644),
        dir("bin/", 0o555),
        file("bin/tool", "#!/bin/sh\n", 0o755),
        sym("bin/alias", "tool"),
        hard("bin/tool2", "bin/tool"),
        { path: "empty", content: "", mode: 0o600, mtime: new Date(1_000_000_000_000) },
      ],
      [file("etc/hosts", "changed\n", 0o600), file("etc/.wh.gone", "")],
    ],
  }), async (out, r) => {
    ok(r);
    assertEquals(await Deno.readTextFile(`${out}/etc/hosts`), "changed\n");
    assertEquals((await Deno.stat(`${out}/etc/hosts`)).mode! & 0o7777, 0o600);
    assertEquals((await Deno.stat(`${out}/bin`)).mode! & 0o7777, 0o555);
    assertEquals(await Deno.readLink(`${out}/bin/alias`), "tool");
    const a = await Deno.stat(`${out}/bin/tool`);
    const b = await Deno.stat(`${out}/bin/tool2`);
    assertEquals([a.ino, a.nlink, a.mode! & 0o777], [b.ino, 2, 0o755]);
    assertEquals((await Deno.stat(`${out}/empty`)).mtime?.getTime(), 1_000_000_000_000);
    assertEquals([r.files, r.hardlinks, r.symlinks], [3, 1, 1]);
  });
});

Deno.test("unpackImage() refuses a target that is not empty", async () => {
  const { top, out } = await sandbox();
  try {
    await Deno.mkdir(out);
    await Deno.writeTextFile(`${out}/x`, "");
    const { store, image } = await storedImage({ layers: [{ files: [file("a")] }] });
    await assertRejects(() => unpackImage(store, image, { dir: out }), AlreadyExistsError);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("unpack: a '../' member is refused and nothing is written", async () => {
  await unpackCase(() => ({
    layers: [{
      files: [],
      rawTar: rawTar([
        rawMember({ name: "ok" }),
        rawMember({ name: "../sentinel/file", body: "pwned" }),
      ]),
    }],
  }), async (out, r) => {
    assert(r instanceof InvalidInputError, String(r));
    assert(!(await exists(out)), "the target was created");
  });
});

Deno.test("unpack: an absolute member name lands inside the target", async () => {
  await unpackCase(
    (s) => ({ layers: [[file(`${s}/file`, "pwned"), file("/abs", "x")]] }),
    async (out, r) => {
      ok(r);
      assertEquals(await Deno.readTextFile(`${out}/abs`), "x");
      assert(await exists(`${out}${out.replace(/rootfs$/, "sentinel")}/file`));
    },
  );
});

Deno.test("unpack: a symlink then a file written through it stays inside", async () => {
  await unpackCase((s) => ({
    layers: [[
      sym("abs", s),
      sym("rel", "../sentinel"),
      file("abs/file", "pwned"),
      file("rel/sub/passwd", "pwned"),
    ]],
  }), async (out, r) => {
    ok(r);
    assertEquals(await Deno.readLink(`${out}/abs`), out.replace(/rootfs$/, "sentinel"));
    assertEquals(
      await Deno.readTextFile(`${out}${out.replace(/rootfs$/, "sentinel")}/file`),
      "pwned",
    );
    assertEquals(await Deno.readTextFile(`${out}/sentinel/sub/passwd`), "pwned");
  });
});

Deno.test("unpack: a relative symlink escaping the root is scoped to it", async () => {
  await unpackCase(() => ({
    layers: [[sym("esc", "../../../../../sentinel"), file("esc/file", "pwned")], [
      file("esc/sub/new", "x"),
    ]],
  }), async (out, r) => {
    ok(r);
    assertEquals(await Deno.readTextFile(`${out}/sentinel/file`), "pwned");
    assertEquals(await Deno.readTextFile(`${out}/sentinel/sub/new`), "x");
  });
});

Deno.test("unpack: hardlinks to outside, to a later path are refused; to a symlink links the symlink", async () => {
  await unpackCase(() => ({ layers: [[hard("h", "../sentinel/file")]] }), (_out, r) => {
    assert(r instanceof InvalidInputError, String(r));
  });
  await unpackCase((s) => ({ layers: [[hard("h", `${s}/file`)]] }), (_out, r) => {
    assert(r instanceof InvalidInputError && r.message.includes("does not exist"), String(r));
  });
  await unpackCase(() => ({ layers: [[hard("h", "later"), file("later")]] }), (_out, r) => {
    assert(r instanceof InvalidInputError && r.message.includes("does not exist"), String(r));
  });
  await unpackCase(
    () => ({ layers: [[sym("s", "../sentinel/file"), hard("h", "s")]] }),
    async (out, r) => {
      ok(r);
      const a = await Deno.lstat(`${out}/s`);
      const b = await Deno.lstat(`${out}/h`);
      assert(b.isSymlink && a.ino === b.ino);
    },
  );
});

Deno.test("unpack: the root '.' as a symlink is refused", async () => {
  await unpackCase(
    () => ({ layers: [[sym("./", "../sentinel"), file("file", "pwned")]] }),
    (_o, r) => {
      assert(r instanceof InvalidInputError, String(r));
    },
  );
});

Deno.test("unpack: a directory replaced by a symlink part way", async () => {
  await unpackCase(() => ({
    layers: [[
      dir("d/"),
      file("d/x"),
      sym("d", "../sentinel"),
      file("d/file", "pwned"),
      file("d/y"),
    ]],
  }), async (out, r) => {
    ok(r);
    assertEquals(await Deno.readLink(`${out}/d`), "../sentinel");
    assertEquals(await Deno.readTextFile(`${out}/sentinel/file`), "pwned");
    assert(await exists(`${out}/sentinel/y`));
  });
});

for (const bad of [".wh..", ".wh...", ".wh."]) {
  Deno.test(`unpack: the whiteout '${bad}' is refused`, async () => {
    await unpackCase(
      () => ({ layers: [[file("sub/keep")], [file(`sub/${bad}`, "")]] }),
      (_o, r) => {
        assert(r instanceof InvalidInputError, String(r));
      },
    );
  });
}

Deno.test("unpack: a whiteout under a symlinked parent deletes inside the target only", async () => {
  await unpackCase((s) => ({
    layers: [
      [
        file("etc/passwd"),
        sym("abs", s),
        sym("rel", "../sentinel"),
        file("sentinel/file", "inner"),
      ],
      [file("abs/.wh.file", ""), file("rel/.wh.file", ""), file("etc/.wh.passwd", "")],
    ],
  }), async (out, r) => {
    ok(r);
    assert(!(await exists(`${out}/etc/passwd`)));
    assert(!(await exists(`${out}/sentinel/file`)));
  });
});

Deno.test("unpack: an opaque whiteout after its siblings hides only lower layers", async () => {
  await unpackCase(() => ({
    layers: [[file("d/old"), file("d/keep-lower")], [file("d/new"), file("d/.wh..wh..opq", "")]],
  }), async (out, r) => {
    ok(r);
    const names = [];
    for await (const e of Deno.readDir(`${out}/d`)) names.push(e.name);
    assertEquals(names, ["new"]);
  });
});

Deno.test("unpack: duplicate paths in one layer: the last wins, reported", async () => {
  await unpackCase(
    () => ({ layers: [[file("a", "first"), file("a", "second")]] }),
    async (out, r) => {
      ok(r);
      assertEquals(await Deno.readTextFile(`${out}/a`), "second");
      assertEquals(r.duplicates, [{ layer: 0, path: "a" }]);
    },
  );
});

Deno.test("unpack: device nodes are skipped and setuid bits stripped by default", async () => {
  await unpackCase(() => ({
    layers: [
      [
        { path: "dev/null", type: "character-device", mode: 0o666 },
        file("bin/su", "su", 0o4755),
        file("bin/wall", "wall", 0o2755),
        file("tmpdir-file", "x", 0o1777),
      ],
    ],
  }), async (out, r) => {
    ok(r);
    assert(!(await exists(`${out}/dev/null`)));
    assertEquals(r.skipped.map((s) => s.path), ["dev/null"]);
    assertEquals((await Deno.stat(`${out}/bin/su`)).mode! & 0o7777, 0o755);
    assertEquals((await Deno.stat(`${out}/bin/wall`)).mode! & 0o7777, 0o755);
    assertEquals((await Deno.stat(`${out}/tmpdir-file`)).mode! & 0o7777, 0o1777);
    assertEquals(r.strippedSetuid.sort(), ["bin/su", "bin/wall"]);
  });
});

Deno.test("unpack: --preserve-setuid keeps setuid only when running as root", async () => {
  const root = Deno.uid() === 0;
  await unpackCase(() => ({
    layers: [[file("bin/su", "su", 0o4755)]],
    options: { preserveSetuid: true },
  }), async (out, r) => {
    ok(r);
    assertEquals((await Deno.stat(`${out}/bin/su`)).mode! & 0o7777, root ? 0o4755 : 0o755);
  });
});

Deno.test("unpack: --preserve-devices creates device nodes only as root", async () => {
  const root = Deno.uid() === 0;
  await unpackCase(() => ({
    layers: [{
      files: [],
      rawTar: rawTar([
        rawMember({ name: "dev/null", type: "3", devmajor: 1, devminor: 3, mode: 0o666 }),
      ]),
    }],
    options: { preserveDevices: true },
  }), async (out, r) => {
    if (r instanceof Error) {
      // a root without CAP_MKNOD (a container) cannot make devices: that must be the reason
      assert(root && r.message.includes("mknod"), String(r));
      return;
    }
    if (root) assert((await Deno.lstat(`${out}/dev/null`)).isCharDevice);
    else assertEquals(r.skipped.map((s) => s.path), ["dev/null"]);
  });
});

Deno.test("unpack: names with invalid UTF-8 or NUL are refused", async () => {
  for (
    const tar of [
      rawTar([rawMember({ name: new Uint8Array([0x66, 0xff]) })]),
      rawTar([paxMember({ path: "a\0/../../sentinel/file" }), rawMember({ name: "x" })]),
      rawTar([rawMember({ name: "l", type: "2", linkname: new Uint8Array([0xc0, 0xaf]) })]),
    ]
  ) {
    await unpackCase(() => ({ layers: [{ files: [], rawTar: tar }] }), (_o, r) => {
      assert(r instanceof InvalidInputError, String(r));
    });
  }
});

Deno.test("unpack: a gzip bomb stops at the output cap with a clear error", async () => {
  await unpackCase(() => ({
    layers: [{ files: [file("zeros", new Uint8Array(16 << 20) as unknown as string)] }],
    options: { maxLayerBytes: 4 << 20 },
  }), async (out, r) => {
    assert(r instanceof LimitExceededError, String(r));
    assert(r.message.includes("expands to more than 4194304 bytes"), r.message);
    assert(!(await exists(out)));
  });
});

Deno.test("unpack: a layer that does not match its diff_id writes nothing", async () => {
  const { top, out } = await sandbox();
  try {
    const { store, image, built } = await storedImage({
      layers: [{ files: [file("a")] }, { files: [file("b")] }],
    });
    const bad = {
      ...image,
      config: {
        ...image.config,
        rootfs: { type: "layers", diff_ids: [built.diffIds[1], built.diffIds[1]] },
      },
    };
    await assertRejects(() => unpackImage(store, bad, { dir: out }), Error, "diff_id");
    assert(!(await exists(out)));
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("unpack: fifos are created, hardlinks to them share the inode", async () => {
  await unpackCase(() => ({
    layers: [[{ path: "run/fifo", type: "fifo", mode: 0o640 }, hard("run/fifo2", "run/fifo")]],
  }), async (out, r) => {
    ok(r);
    const a = await Deno.lstat(`${out}/run/fifo`);
    const b = await Deno.lstat(`${out}/run/fifo2`);
    assert(a.isFifo && a.ino === b.ino);
    assertEquals(a.mode! & 0o777, 0o640);
  });
});

Deno.test("unpack: a failure while writing removes what was written (new dir removed, existing dir emptied)", async () => {
  const { top, out } = await sandbox();
  try {
    const { store, image } = await storedImage({
      layers: [
        { files: [dir("etc", 0o555), file("etc/a"), sym("etc/l", "a"), dir("usr/lib")] },
        { files: [file("usr/lib/b"), dir("ro", 0o500), file("ro/c")] },
      ],
    });
    // The second pass reads layers again: the second read of the last layer fails, as if
    // the blob had been removed meanwhile.
    const reads = new Map<string, number>();
    const failing = Object.create(store) as typeof store;
    failing.reader = (digest, options) => {
      const n = (reads.get(digest) ?? 0) + 1;
      reads.set(digest, n);
      if (digest === image.manifest.layers[1].digest && n === 2) {
        return Promise.reject(new Error("the blob vanished"));
      }
      return store.reader(digest, options);
    };
    await assertRejects(
      () => unpackImage(failing, image, { dir: out }),
      Error,
      "the blob vanished",
    );
    assert(!(await exists(out)), "a directory unpack created is removed");
    await Deno.mkdir(out);
    reads.clear();
    await assertRejects(
      () => unpackImage(failing, image, { dir: out }),
      Error,
      "the blob vanished",
    );
    assertEquals(await Array.fromAsync(Deno.readDir(out)), [], "an existing directory is emptied");
    const done = await unpackImage(store, image, { dir: out });
    assertEquals(done.files, 3);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("unpack: xattrs from the layers are applied; file capabilities only with preserveSetuid as root; a symlink's user.* is reported", async () => {
  const xattrs = openLibc();
  if (typeof xattrs === "string") throw new Error(`this test needs xattrs: ${xattrs}`);
  const capability = new Uint8Array(20);
  capability.set([1, 0, 0, 2, 0x80, 0x20]); // v2, permitted: CAP_SETUID | CAP_NET_RAW
  const enc = new TextEncoder();
  const { top, out } = await sandbox();
  try {
    const { store, image } = await storedImage({
      layers: [rawLayer([
        { name: "bin/", type: "5", mode: 0o755 },
        paxMember({ "SCHILY.xattr.user.dir": "d" }),
        { name: "etc/", type: "5", mode: 0o755 },
        paxMember({
          "SCHILY.xattr.security.capability": capability,
          "SCHILY.xattr.user.note": new Uint8Array([0xff, 0, 1]),
        }),
        { name: "bin/ping", body: "elf", mode: 0o755, uid: 0, gid: 0 },
        paxMember({ "SCHILY.xattr.user.l": "x" }),
        { name: "bin/link", type: "2", linkname: "ping" },
      ])],
    });
    const root = Deno.uid() === 0;
    const r = await unpackImage(store, image, { dir: out });
    assertEquals(xattrs.getXattr(`${out}/bin/ping`, "user.note"), new Uint8Array([0xff, 0, 1]));
    assertEquals(xattrs.getXattr(`${out}/etc`, "user.dir"), enc.encode("d"));
    // File capabilities are privilege, like setuid: dropped unless asked for (as root).
    assertEquals(xattrs.getXattr(`${out}/bin/ping`, "security.capability"), undefined);
    assertEquals(r.xattrs, 2);
    const reasons = r.skipped.map((s) => `${s.path}: ${s.reason}`);
    assert(reasons.some((s) => s.startsWith("bin/link: setting xattr user.l")), reasons.join("\n"));
    assert(reasons.some((s) => s.startsWith("bin/ping: file capabilities")), reasons.join("\n"));
    const kept = await unpackImage(store, image, { dir: `${top}/kept`, preserveSetuid: true });
    if (root) {
      assertEquals(xattrs.getXattr(`${top}/kept/bin/ping`, "security.capability"), capability);
      assertEquals(kept.xattrs, 3);
    } else assertEquals(kept.xattrs, 2);
    // Off when asked.
    const plain = await unpackImage(store, image, { dir: `${top}/plain`, xattrs: false });
    assertEquals(plain.xattrs, 0);
    assertEquals(xattrs.getXattr(`${top}/plain/bin/ping`, "user.note"), undefined);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("unpack: a symlink gets its own mtime, and its owner as root (lchown/utimensat, not followed)", async () => {
  const { top, out } = await sandbox();
  try {
    const { store, image } = await storedImage({
      layers: [rawLayer([
        { name: "target", body: "t", mtime: 1_600_000_000, uid: 0, gid: 0 },
        { name: "link", type: "2", linkname: "target", mtime: 1_234_567_890, uid: 1234, gid: 4321 },
      ])],
    });
    await unpackImage(store, image, { dir: out });
    const link = await Deno.lstat(`${out}/link`);
    const target = await Deno.lstat(`${out}/target`);
    assertEquals(link.mtime?.getTime(), 1_234_567_890_000);
    assertEquals(target.mtime?.getTime(), 1_600_000_000_000);
    if (Deno.uid() === 0) {
      assertEquals([link.uid, link.gid], [1234, 4321]);
      assertEquals([target.uid, target.gid], [0, 0]);
    }
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});
