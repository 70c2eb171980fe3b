/**
 * Building and changing images with the library (src/build/): the result is a real image
 * — skopeo copies it, umoci unpacks it with exactly the files the test put in — and the
 * same steps give the same digests on every run, in any store.
 * @module
 */
import {
  addHistory,
  appendLayer,
  checkDiffIds,
  checkImages,
  emptyImage,
  type ImageDraft,
  listImageFiles,
  loadImage,
  MemoryStore,
  rebaseImage,
  resolveImage,
  setAnnotations,
  setConfig,
  type Store,
  writeImage,
  writeIndex,
} from "@lading/oci";
import { directoryFiles, openFsStore } from "@lading/oci/fs";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { InvalidInputError } from "@lading/oci";
import { haveTools, run } from "../interop/_tools.ts";
import { tarOf } from "../helpers/images.ts";

const enc = new TextEncoder();

/** Every layer of every platform decompresses to its diff_id, and every blob hashes to its name. */
async function allVerified(store: Store, name: string): Promise<boolean> {
  const diffIds = await checkDiffIds(store, name);
  const [blobs] = await checkImages(store, [await store.getImage(name)]);
  return diffIds.ok && diffIds.manifests.every((m) => m.layers.every((l) => l.verified)) &&
    blobs.ok;
}

/** The same build steps, on any store: three layers (entries, a tar, a directory). */
async function build(store: Store, dir: string): Promise<ImageDraft> {
  let image = emptyImage({ platform: { os: "linux", architecture: "amd64" } });
  image = await appendLayer(store, image, {
    files: [
      { path: "/etc/os-release", content: 'NAME="built by lading"\n' },
      { path: "etc", type: "directory" },
      { path: "bin/hello", content: "#!/bin/sh\necho hello\n", mode: 0o755 },
      { path: "bin", type: "directory" },
      { path: "bin/hi", type: "symlink", linkname: "hello" },
      { path: "bin/hello-again", type: "hardlink", linkname: "bin/hello" },
      { path: "data/big.bin", content: new Blob([new Uint8Array(3 * 1024 * 1024).fill(7)]) },
      { path: "data", type: "directory" },
    ],
    history: { createdBy: "lading test: rootfs" },
  });
  const tar = await tarOf([
    { path: "app/", type: "directory" },
    { path: "app/README", content: "from a tar stream\n" },
  ]);
  image = await appendLayer(store, image, {
    tar: new Blob([tar as BlobPart]).stream(),
    history: { createdBy: "lading test: tar" },
  });
  image = await appendLayer(store, image, { files: directoryFiles(dir, { prefix: "srv" }) });
  image = addHistory(image, { createdBy: "ENV LANG=C.UTF-8" });
  image = setConfig(image, {
    Env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
    Cmd: ["/bin/hello"],
    Entrypoint: ["/bin/sh"],
    WorkingDir: "/app",
    User: "1000:1000",
    ExposedPorts: ["8080", "53/udp"],
    Labels: { "org.opencontainers.image.title": "built" },
  });
  return setAnnotations(image, { "org.opencontainers.image.source": "https://example.com/x" });
}

async function sourceDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lading-build-src-" });
  await Deno.mkdir(`${dir}/www`);
  await Deno.writeTextFile(`${dir}/www/index.html`, "<h1>hi</h1>\n");
  await Deno.writeTextFile(`${dir}/www/robots.txt`, "User-agent: *\n", { mode: 0o600 });
  await Deno.chmod(`${dir}/www/robots.txt`, 0o600);
  await Deno.symlink("www/index.html", `${dir}/home`);
  return dir;
}

Deno.test("a built image has the same digests on every run and in every store", async () => {
  const dir = await sourceDir();
  const fsDir = await Deno.makeTempDir({ prefix: "lading-build-store-" });
  const fs = await openFsStore(fsDir);
  try {
    const a = await writeImage(fs, await build(fs, dir), { name: "example.com/built:1" });
    const memory = new MemoryStore();
    const b = await writeImage(memory, await build(memory, dir));
    const c = await writeImage(memory, await build(memory, dir));
    assertEquals(a.descriptor.digest, b.descriptor.digest);
    assertEquals(b.descriptor.digest, c.descriptor.digest);
    assertEquals(a.names, ["example.com/built:1"]);
    const resolved = await resolveImage(fs, "example.com/built:1");
    assertEquals(resolved.config.config?.Env, ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"]);
    assertEquals(Object.keys(resolved.config.config?.ExposedPorts ?? {}), ["8080/tcp", "53/udp"]);
    assertEquals(resolved.config.history?.map((h) => h.created_by ?? ""), [
      "lading test: rootfs",
      "lading test: tar",
      "",
      "ENV LANG=C.UTF-8",
    ]);
    assert(await allVerified(fs, "example.com/built:1"));
  } finally {
    await fs.close();
    await Deno.remove(fsDir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("skopeo copies a built image and umoci unpacks it with the files put in", async () => {
  if (!(await haveTools("build interop", "skopeo", "umoci"))) return;
  const dir = await sourceDir();
  const work = await Deno.makeTempDir({ prefix: "lading-build-interop-" });
  const store = await openFsStore(`${work}/store`);
  try {
    await writeImage(store, await build(store, dir), { name: "example.com/built:1" });
    await store.close();
    await run("skopeo", [
      "copy",
      `oci:${work}/store:example.com/built:1`,
      `oci:${work}/copy:y`,
    ]);
    const rootless = Deno.uid() !== 0 ? ["--rootless"] : [];
    await run("umoci", ["unpack", ...rootless, "--image", `${work}/copy:y`, `${work}/bundle`]);
    const root = `${work}/bundle/rootfs`;
    assertEquals(await Deno.readTextFile(`${root}/etc/os-release`), 'NAME="built by lading"\n');
    assertEquals(await Deno.readTextFile(`${root}/bin/hello`), "#!/bin/sh\necho hello\n");
    assertEquals((await Deno.stat(`${root}/bin/hello`)).mode! & 0o777, 0o755);
    assertEquals(await Deno.readLink(`${root}/bin/hi`), "hello");
    assertEquals(
      (await Deno.stat(`${root}/bin/hello-again`)).ino,
      (await Deno.stat(`${root}/bin/hello`)).ino,
    );
    assertEquals((await Deno.stat(`${root}/data/big.bin`)).size, 3 * 1024 * 1024);
    assertEquals(await Deno.readTextFile(`${root}/app/README`), "from a tar stream\n");
    assertEquals(await Deno.readTextFile(`${root}/srv/www/index.html`), "<h1>hi</h1>\n");
    assertEquals((await Deno.stat(`${root}/srv/www/robots.txt`)).mode! & 0o777, 0o600);
    assertEquals(await Deno.readLink(`${root}/srv/home`), "www/index.html");
    const config = JSON.parse(await Deno.readTextFile(`${work}/bundle/config.json`));
    assertEquals(config.process.args, ["/bin/sh", "/bin/hello"]);
    assertEquals(config.process.cwd, "/app");
  } finally {
    await store.close().catch(() => {});
    await Deno.remove(work, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zstd layers are stored with their media type and verified diff_ids", async () => {
  const store = new MemoryStore();
  const image = await appendLayer(store, emptyImage(), {
    files: [{ path: "z", content: "zstd".repeat(1000) }],
    compression: "zstd",
  });
  const again = await appendLayer(store, emptyImage(), {
    files: [{ path: "z", content: "zstd".repeat(1000) }],
    compression: "zstd",
  });
  assertEquals(image.layers[0].mediaType, "application/vnd.oci.image.layer.v1.tar+zstd");
  assertEquals(image.layers[0].digest, again.layers[0].digest);
  await writeImage(store, image, { name: "example.com/zstd:1" });
  const files = await listImageFiles(store, "example.com/zstd:1");
  assertEquals(files.map((f) => f.path), ["z"]);
  assert(await allVerified(store, "example.com/zstd:1"));
});

Deno.test("a multi-platform index over built images resolves per platform", async () => {
  const store = new MemoryStore();
  const built = [];
  for (const architecture of ["amd64", "arm64"]) {
    const image = await appendLayer(
      store,
      emptyImage({ platform: { os: "linux", architecture } }),
      {
        files: [{ path: "arch", content: architecture }],
      },
    );
    built.push((await writeImage(store, image)).descriptor);
  }
  await writeIndex(store, built, { name: "example.com/multi:1" });
  const arm = await resolveImage(store, "example.com/multi:1", {
    platform: { os: "linux", architecture: "arm64" },
  });
  assertEquals(arm.config.architecture, "arm64");
  assertEquals(arm.index?.manifests.length, 2);
});

Deno.test("rebaseImage() puts an image's own layers onto a new base", async () => {
  const store = new MemoryStore();
  const oldBase = await appendLayer(store, emptyImage(), {
    files: [{ path: "base", content: "1" }],
    history: { createdBy: "old base" },
  });
  const newBase = await appendLayer(store, emptyImage(), {
    files: [{ path: "base", content: "2" }],
    history: { createdBy: "new base" },
  });
  const app = setConfig(
    await appendLayer(store, oldBase, {
      files: [{ path: "app", content: "x" }],
      history: { createdBy: "app" },
    }),
    { Cmd: ["/app"] },
  );
  const rebased = rebaseImage(app, { oldBase, newBase });
  assertEquals(rebased.layers.map((l) => l.digest), [
    newBase.layers[0].digest,
    app.layers[1].digest,
  ]);
  assertEquals(rebased.config.history?.map((h) => h.created_by), ["new base", "app"]);
  assertEquals(rebased.config.config?.Cmd, ["/app"]);
  await writeImage(store, rebased, { name: "example.com/app:rebased" });
  const files = await listImageFiles(store, "example.com/app:rebased");
  assertEquals(files.map((f) => f.path).sort(), ["app", "base"]);
  assert(await allVerified(store, "example.com/app:rebased"));
  // An image not built on oldBase is refused.
  let refused = false;
  try {
    rebaseImage(newBase, { oldBase: app, newBase: oldBase });
  } catch {
    refused = true;
  }
  assert(refused);
});

Deno.test("loadImage() then appendLayer() changes a stored image under a new name", async () => {
  const store = new MemoryStore();
  const base = await appendLayer(store, emptyImage(), { files: [{ path: "a", content: "a" }] });
  await writeImage(store, base, { name: "example.com/base:1" });
  const loaded = await loadImage(store, "example.com/base:1");
  const changed = await appendLayer(store, loaded, { files: [{ path: "b", content: "b" }] });
  await writeImage(store, setConfig(changed, { Env: ["X=1"] }), { name: "example.com/base:2" });
  const files = await listImageFiles(store, "example.com/base:2");
  assertEquals(files.map((f) => f.path), ["a", "b"]);
  assertEquals((await resolveImage(store, "example.com/base:2")).config.config?.Env, ["X=1"]);
});

Deno.test("a layer refuses '..' paths, duplicates and a file whose size changes", async () => {
  const store = new MemoryStore();
  await assertRejects(
    () => appendLayer(store, emptyImage(), { files: [{ path: "../etc/passwd", content: "x" }] }),
    TypeError,
  );
  await assertRejects(
    () =>
      appendLayer(store, emptyImage(), {
        files: [{ path: "a", content: "1" }, { path: "/a", content: "2" }],
      }),
    TypeError,
  );
  await assertRejects(
    () =>
      appendLayer(store, emptyImage(), {
        files: [{
          path: "a",
          content: {
            size: 10,
            open: () => Promise.resolve(new Blob([enc.encode("short")]).stream()),
          },
        }],
      }),
    InvalidInputError,
  );
  assertEquals(await Array.fromAsync(store.list()), []);
});
