import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/common.ts";
import { openFsStore } from "../../src/store/fs.ts";
import { writeBlob } from "../../src/store/blob.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { blobsOf, buildImage, type BuiltImage, jsonBlob } from "../helpers/images.ts";
import * as mt from "../../src/media_types.ts";

function fakeIO() {
  let out = "";
  let err = "";
  const bytes: Uint8Array[] = [];
  const io: CliIO = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    stdout: new WritableStream({ write: (c) => void bytes.push(c) }),
    stdin: new ReadableStream({ start: (c) => c.close() }),
    stderrIsTerminal: false,
    env: () => undefined,
  };
  return {
    io,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    get stdout() {
      return new TextDecoder().decode(
        bytes.reduce((a, b) => {
          const c = new Uint8Array(a.byteLength + b.byteLength);
          c.set(a);
          c.set(b, a.byteLength);
          return c;
        }, new Uint8Array(0)),
      );
    },
  };
}

async function storeWith(images: Record<string, BuiltImage>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lading-cli-layers-" });
  const store = await openFsStore(dir);
  try {
    for (const [name, image] of Object.entries(images)) {
      for (const b of blobsOf(image)) await writeBlob(store, b.bytes, b.descriptor);
      await store.putImages([{ name, target: image.manifest.descriptor }]);
    }
  } finally {
    await store.close();
  }
  return dir;
}

async function run(dir: string, ...args: string[]) {
  const f = fakeIO();
  const code = await main([...args, "--store", dir], f.io);
  return { code, out: f.out, err: f.err, stdout: f.stdout };
}

const image = () =>
  buildImage({
    layers: [
      {
        files: [
          { path: "etc/", type: "directory" },
          { path: "etc/os-release", content: "NAME=base\n" },
          { path: "big", content: "x".repeat(5000) },
          { path: "bin/sh", content: "#!", mode: 0o755 },
          { path: "bin/ash", type: "symlink", linkname: "sh" },
        ],
      },
      {
        files: [
          { path: "big", content: "small" },
          { path: "etc/.wh.os-release", content: "" },
          { path: "etc/hostname", content: "box\n" },
        ],
        compression: "zstd",
      },
    ],
    history: [{ created_by: "ADD base /" }, { created_by: "RUN shrink" }],
  });

Deno.test("CLI layer commands on a small image", async () => {
  const dir = await storeWith({ "example.com/app:1": await image() });
  try {
    const layers = await run(dir, "layers", "example.com/app:1");
    assertEquals(layers.code, 0, layers.err);
    assertStringIncludes(layers.out, "verified");
    assertStringIncludes(layers.out, "RUN shrink");
    const lj = JSON.parse((await run(dir, "layers", "example.com/app:1", "--json")).out);
    assertEquals(lj.layers.map((l: { files: number }) => l.files), [3, 2]);

    const ls = await run(dir, "ls", "example.com/app:1", "-R");
    assertEquals(ls.out, "big\nbin/\nbin/ash\nbin/sh\netc/\netc/hostname\n");
    // Without -R, one directory, like ls.
    assertEquals((await run(dir, "ls", "example.com/app:1")).out, "big\nbin/\netc/\n");
    assertEquals((await run(dir, "ls", "example.com/app:1", "/bin")).out, "bin/ash\nbin/sh\n");
    const ll = await run(dir, "ls", "example.com/app:1", "bin", "-l");
    assertStringIncludes(ll.out, "lrw-r--r-- 0/0");
    assertStringIncludes(ll.out, "bin/ash -> sh");
    const one = await run(dir, "ls", "example.com/app:1", "--layer", "1", "-R");
    assertStringIncludes(one.out, "etc/.wh.os-release  (whiteout: deletes etc/os-release)");
    const top = await run(dir, "ls", "example.com/app:1", "--layer", "1");
    assert(!top.out.includes("etc/.wh.os-release"), top.out);
    assertStringIncludes(top.out, "big\n");
    const etc = await run(dir, "ls", "example.com/app:1", "--layer", "1", "etc");
    assertStringIncludes(etc.out, "etc/.wh.os-release  (whiteout: deletes etc/os-release)");
    const layerCat = await run(dir, "cat", "example.com/app:1", "--layer", "0", "/etc/os-release");
    assertEquals(layerCat.code, 0, layerCat.err);

    const cat = await run(dir, "cat", "example.com/app:1", "/etc/hostname");
    assertEquals([cat.code, cat.stdout], [0, "box\n"]);
    const missing = await run(dir, "cat", "example.com/app:1", "etc/os-release");
    assertEquals(missing.code, 1);
    assertStringIncludes(missing.err, "no such file");

    const diff = await run(dir, "diff", "example.com/app:1", "--layer", "1");
    assertEquals(diff.out, "M big\nA etc/hostname\nD etc/os-release\n");

    const waste = await run(dir, "waste", "example.com/app:1", "--fail-below", "0.5");
    assertEquals(waste.code, 1);
    assertStringIncludes(waste.out, "FAIL");
    const wj = JSON.parse((await run(dir, "waste", "example.com/app:1", "--json")).out);
    assertEquals(wj.wastedBytes, 5010);
    assertEquals((await run(dir, "waste", "example.com/app:1", "--fail-below", "0%")).code, 0);

    const target = `${dir}-rootfs`;
    const unpack = await run(dir, "unpack", "example.com/app:1", target);
    assertEquals(unpack.code, 0, unpack.err);
    assertEquals(await Deno.readTextFile(`${target}/big`), "small");
    assertEquals(await Deno.readLink(`${target}/bin/ash`), "sh");
    await Deno.remove(target, { recursive: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI layers and ls --layer report a diff_id mismatch naming layer, expected, actual", async () => {
  const good = await image();
  const config = JSON.parse(new TextDecoder().decode(good.config.bytes));
  config.rootfs.diff_ids = [good.diffIds[1], good.diffIds[1]];
  const badConfig = await jsonBlob(config, mt.OCI_CONFIG);
  const manifest = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: badConfig.descriptor,
    layers: good.layers.map((l) => l.descriptor),
  }, mt.OCI_MANIFEST);
  const dir = await storeWith({});
  const store = await openFsStore(dir);
  for (const b of [badConfig, manifest, ...good.layers]) {
    await writeBlob(store, b.bytes, b.descriptor);
  }
  await store.putImages([{ name: "bad:1", target: manifest.descriptor }]);
  await store.close();
  try {
    const r = await run(dir, "layers", "bad:1");
    assertEquals(r.code, 1);
    assertStringIncludes(r.out, "MISMATCH");
    assertStringIncludes(r.err, `expected ${good.diffIds[1]}, actual ${good.diffIds[0]}`);
    const ls = await run(dir, "ls", "bad:1", "--layer", "0");
    assertEquals(ls.code, 1);
    assertStringIncludes(ls.err, "diff_id mismatch");
    const u = await run(dir, "unpack", "bad:1", `${dir}-x`);
    assertEquals(u.code, 1);
    assert(u.err.includes("layer 0") && u.err.includes(good.diffIds[1]), u.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI layer commands reject bad usage", async () => {
  const dir = await storeWith({ "a:1": await image() });
  try {
    assertEquals((await run(dir, "diff", "a:1")).code, 2);
    assertEquals((await run(dir, "ls", "a:1", "--layer", "7")).code, 2);
    assertEquals((await run(dir, "ls", "a:1", "../x")).code, 2);
    assertEquals((await run(dir, "waste", "a:1", "--fail-below", "2")).code, 2);
    assertEquals((await run(dir, "cat", "a:1")).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
