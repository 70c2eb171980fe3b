/**
 * The CLI end to end, as a user runs it: `deno run -A cli.ts ...` in a subprocess with
 * LADING_STORE pointing at a temp store. Output formats, stdin, and exit codes (0 ok,
 * 1 failure with one line on stderr, 2 usage error).
 */
import { createHash } from "node:crypto";
import { hostPlatform } from "../src/platform.ts";
import * as mt from "../src/media_types.ts";
import type { Descriptor } from "../src/types.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import {
  blobsOf,
  buildImage,
  type BuiltImage,
  demoImage,
  dockerArchiveFiles,
  jsonBlob,
  layoutFiles,
  tarOfFiles,
} from "./helpers/images.ts";

const ROOT = new URL("../", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  bytes: Uint8Array;
}

async function cli(store: string, args: string[], stdin?: Uint8Array): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", ...args],
    cwd: ROOT,
    env: { LADING_STORE: store, NO_COLOR: "1" },
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    bytes: out.stdout,
  };
}

/** A temp dir holding `store/` and the test's input files. */
async function withDir(fn: (dir: string, store: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lading-cli-" });
  try {
    await fn(dir, `${dir}/store`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function demoArchive(dir: string): Promise<{ path: string; image: BuiltImage }> {
  const { image, archive } = await demoImage();
  await Deno.writeFile(`${dir}/demo.tar`, archive);
  return { path: `${dir}/demo.tar`, image };
}

function oneLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l !== "");
  assertEquals(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  return lines[0];
}

// ---------------------------------------------------------------------------------------
// import

Deno.test("lading import prints '<name> <digest>' lines on stdout and 'blobs: N added, M present' on stderr", async () => {
  await withDir(async (dir, store) => {
    const { path, image } = await demoArchive(dir);
    const r = await cli(store, ["import", path]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, `example.com/demo:1 ${image.manifest.descriptor.digest}\n`);
    assertMatch(r.stderr, /^blobs: 4 added, 0 present\b/m);
    const again = await cli(store, ["import", path]);
    assertEquals(again.code, 0);
    assertMatch(again.stderr, /^blobs: 0 added, 4 present\b/m);
  });
});

Deno.test("lading import --json prints {images:[{name,digest,mediaType,size}], blobs:{added,present,bytes}}", async () => {
  await withDir(async (dir, store) => {
    const { path, image } = await demoArchive(dir);
    const r = await cli(store, ["import", "--json", path]);
    assertEquals(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assertEquals(out.images, [{
      name: "example.com/demo:1",
      digest: image.manifest.descriptor.digest,
      mediaType: mt.OCI_MANIFEST,
      size: image.manifest.descriptor.size,
    }]);
    assertEquals(Object.keys(out.blobs).sort(), ["added", "bytes", "present"]);
    assertEquals(out.blobs.added, 4);
    assertEquals(out.blobs.present, 0);
    assertEquals(
      out.blobs.bytes,
      blobsOf(image).reduce((n, b) => n + b.bytes.byteLength, 0),
    );
  });
});

Deno.test("lading import - reads the archive from stdin (gzip or not)", async () => {
  await withDir(async (_dir, store) => {
    const { archive, image } = await demoImage();
    const r = await cli(store, ["import", "-"], archive);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, `example.com/demo:1 ${image.manifest.descriptor.digest}\n`);
  });
});

Deno.test("lading import of a docker archive names it docker.io/library/... and --base-name/--digests/--index-name work", async () => {
  await withDir(async (dir, store) => {
    const img = await buildImage({
      docker: true,
      layers: [{ files: [{ path: "x", content: "x\n" }], compression: "none" }],
    });
    await Deno.writeFile(
      `${dir}/d.tar`,
      await tarOfFiles(await dockerArchiveFiles([{ image: img, repoTags: ["foo:1"] }])),
    );
    const r = await cli(store, [
      "import",
      "--digests",
      "--base-name",
      "example.com/base",
      "--index-name",
      "example.com/idx:all",
      `${dir}/d.tar`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const names = r.stdout.trim().split("\n").map((l) => l.split(" ")[0]).sort();
    assertEquals(names.length, 3);
    assertEquals(names[0], "docker.io/library/foo:1");
    assertMatch(names[1], /^example\.com\/base@sha256:[0-9a-f]{64}$/);
    assertEquals(names[2], "example.com/idx:all");
  });
});

Deno.test("lading import --dry-run prints the names and writes nothing (not even a new store)", async () => {
  await withDir(async (dir, store) => {
    const { path, image } = await demoArchive(dir);
    const r = await cli(store, ["import", "--dry-run", path]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, `example.com/demo:1 ${image.manifest.descriptor.digest}\n`);
    assertEquals(await Deno.stat(store).then(() => true, () => false), false);
    // On an existing store, too.
    await Deno.mkdir(store);
    await cli(store, ["gc", "-q"]).then((g) => assertEquals(g.code, 1)); // empty dir: no store
    await cli(store, ["import", "--dry-run", path]);
    assertEquals([...Deno.readDirSync(store)], []);
    await cli(store, ["import", path]);
    await cli(store, ["images", "rm", "example.com/demo:1"]);
    await cli(store, ["gc", "-q"]);
    const dry = await cli(store, ["import", "--dry-run", path]);
    assertEquals(dry.code, 0, dry.stderr);
    const ls = await cli(store, ["images", "ls", "-q"]);
    assertEquals(ls.stdout, "");
    const content = await cli(store, ["content", "ls", "--json"]);
    assertEquals(JSON.parse(content.stdout), []);
  });
});

// ---------------------------------------------------------------------------------------
// images ls / inspect

Deno.test("lading images ls --json prints [{name,digest,mediaType,size,platforms}] and -q prints names", async () => {
  await withDir(async (dir, store) => {
    const { path, image } = await demoArchive(dir);
    await cli(store, ["import", path]);
    const r = await cli(store, ["images", "ls", "--json"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout), [{
      name: "example.com/demo:1",
      digest: image.manifest.descriptor.digest,
      mediaType: mt.OCI_MANIFEST,
      size: blobsOf(image).reduce((n, b) => n + b.bytes.byteLength, 0),
      platforms: ["linux/amd64"],
    }]);
    const q = await cli(store, ["images", "ls", "-q"]);
    assertEquals(q.stdout, "example.com/demo:1\n");
    const text = await cli(store, ["images", "ls"]);
    assertStringIncludes(text.stdout, "example.com/demo:1");
    assertStringIncludes(text.stdout, image.manifest.descriptor.digest);
    assertStringIncludes(text.stdout, "linux/amd64");
  });
});

Deno.test("lading images ls shows a platform left out by --platform as missing", async () => {
  await withDir(async (dir, store) => {
    const amd = await buildImage({ layers: [{ files: [{ path: "a", content: "a" }] }] });
    const arm = await buildImage({
      platform: { os: "linux", architecture: "arm64" },
      layers: [{ files: [{ path: "b", content: "b" }] }],
    });
    const { buildIndex } = await import("./helpers/images.ts");
    const index = await buildIndex([amd, arm]);
    await Deno.writeFile(
      `${dir}/mp.tar`,
      await tarOfFiles(
        layoutFiles([{ descriptor: index.descriptor, refName: "example.com/mp:1" }], [
          index,
          ...blobsOf(amd),
          ...blobsOf(arm),
        ]),
      ),
    );
    const r = await cli(store, ["import", "--platform", "linux/arm64", `${dir}/mp.tar`]);
    assertEquals(r.code, 0, r.stderr);
    const ls = JSON.parse((await cli(store, ["images", "ls", "--json"])).stdout);
    assertEquals(ls[0].platforms, ["linux/arm64"]);
    assertEquals(ls[0].missingPlatforms, ["linux/amd64"]);
    const text = (await cli(store, ["images", "ls"])).stdout;
    assertStringIncludes(text, "linux/amd64 (missing)");
  });
});

Deno.test("lading images inspect --json has name, descriptor, index, manifest, config, platform", async () => {
  await withDir(async (dir, store) => {
    const { path, image } = await demoArchive(dir);
    await cli(store, ["import", path]);
    const r = await cli(store, ["images", "inspect", "--json", "example.com/demo:1"]);
    assertEquals(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    for (const k of ["name", "descriptor", "index", "manifest", "config", "platform"]) {
      assert(k in out, `missing key ${k}`);
    }
    assertEquals(out.name, "example.com/demo:1");
    assertEquals(out.descriptor.digest, image.manifest.descriptor.digest);
    assertEquals(out.index, null);
    assertEquals(out.manifest.config.digest, image.config.descriptor.digest);
    assertEquals(out.config.config.WorkingDir, "/app");
    assertEquals(out.platform, { os: "linux", architecture: "amd64" });
  });
});

Deno.test("lading images inspect shows Cmd, Entrypoint, Env, WorkingDir, User, ExposedPorts, Labels, layers and history with empty layers", async () => {
  await withDir(async (dir, store) => {
    const { path, image } = await demoArchive(dir);
    await cli(store, ["import", path]);
    const r = await cli(store, ["images", "inspect", "example.com/demo:1"]);
    assertEquals(r.code, 0, r.stderr);
    const t = r.stdout;
    assertMatch(t, /Cmd:\s+\["\/bin\/hello"\]/);
    assertMatch(t, /Entrypoint:\s+\["\/bin\/sh"\]/);
    assertMatch(t, /WorkingDir:\s+\/app/);
    assertMatch(t, /User:\s+1000:1000/);
    assertMatch(t, /ExposedPorts:\s+8080\/tcp/);
    assertStringIncludes(t, "LANG=C.UTF-8");
    assertStringIncludes(t, "PATH=/usr/local/bin:/usr/bin:/bin");
    assertStringIncludes(t, "org.opencontainers.image.title=lading demo");
    assertMatch(t, /Platform:\s+linux\/amd64/);
    for (const [i, l] of image.layers.entries()) {
      assertStringIncludes(t, l.descriptor.digest);
      assertStringIncludes(t, image.diffIds[i].slice(0, 19));
    }
    assertStringIncludes(t, "ADD rootfs /");
    assertStringIncludes(t, "COPY app /app");
    assertMatch(t, /\(empty\)\s+ENV LANG=C\.UTF-8/);
  });
});

async function indexArchive(
  dir: string,
  platforms: { os: string; architecture: string; attestation?: boolean }[],
): Promise<{ path: string; manifests: Descriptor[] }> {
  const images: BuiltImage[] = [];
  const entries: Descriptor[] = [];
  for (const [i, p] of platforms.entries()) {
    const img = await buildImage({
      platform: { os: p.os, architecture: p.architecture },
      layers: [{ files: [{ path: `f${i}`, content: `${p.os}/${p.architecture} ${i}` }] }],
    });
    images.push(img);
    entries.push({
      ...img.manifest.descriptor,
      platform: { os: p.os, architecture: p.architecture },
      ...(p.attestation
        ? { annotations: { "vnd.docker.reference.type": "attestation-manifest" } }
        : {}),
    });
  }
  const index = await jsonBlob(
    { schemaVersion: 2, mediaType: mt.OCI_INDEX, manifests: entries },
    mt.OCI_INDEX,
  );
  await Deno.writeFile(
    `${dir}/idx.tar`,
    await tarOfFiles(
      layoutFiles([{ descriptor: index.descriptor, refName: "example.com/idx:1" }], [
        index,
        ...images.flatMap(blobsOf),
      ]),
    ),
  );
  return { path: `${dir}/idx.tar`, manifests: entries };
}

Deno.test("lading images inspect of an index picks the host platform without --platform, and the asked one with it", async () => {
  await withDir(async (dir, store) => {
    const host = hostPlatform();
    const other = host.architecture === "arm64" ? "s390x" : "arm64";
    const { path, manifests } = await indexArchive(dir, [
      { os: "unknown", architecture: "unknown", attestation: true },
      { os: "linux", architecture: other },
      { os: host.os, architecture: host.architecture },
    ]);
    assertEquals((await cli(store, ["import", path])).code, 0);
    const r = JSON.parse(
      (await cli(store, ["images", "inspect", "--json", "example.com/idx:1"])).stdout,
    );
    assertEquals(r.platform.architecture, host.architecture);
    assert(r.index && r.index.manifests.length === 3);
    const asked = JSON.parse(
      (await cli(store, [
        "images",
        "inspect",
        "--json",
        "--platform",
        `linux/${other}`,
        "example.com/idx:1",
      ])).stdout,
    );
    assertEquals(asked.platform.architecture, other);
    assertEquals(asked.manifest.config.digest !== r.manifest.config.digest, true);
    const text = (await cli(store, ["images", "inspect", "example.com/idx:1"])).stdout;
    assertStringIncludes(text, `${manifests[2].digest} (chosen)`);
  });
});

Deno.test("lading images inspect of an index without the host platform picks the first non-attestation entry", async () => {
  await withDir(async (dir, store) => {
    const { path } = await indexArchive(dir, [
      { os: "unknown", architecture: "unknown", attestation: true },
      { os: "linux", architecture: "s390x" },
      { os: "linux", architecture: "ppc64le" },
    ]);
    assertEquals((await cli(store, ["import", path])).code, 0);
    const r = JSON.parse(
      (await cli(store, ["images", "inspect", "--json", "example.com/idx:1"])).stdout,
    );
    assertEquals(r.platform, { os: "linux", architecture: "s390x" });
  });
});

// ---------------------------------------------------------------------------------------
// content

Deno.test("lading content ls --json lists {digest,size} of every blob and content get writes a blob's exact bytes", async () => {
  await withDir(async (dir, store) => {
    const { path, image } = await demoArchive(dir);
    await cli(store, ["import", path]);
    const ls = await cli(store, ["content", "ls", "--json"]);
    assertEquals(ls.code, 0, ls.stderr);
    const want = blobsOf(image).map((b) => ({
      digest: b.descriptor.digest,
      size: b.bytes.byteLength,
    }))
      .sort((a, b) => (a.digest < b.digest ? -1 : 1));
    assertEquals(JSON.parse(ls.stdout), want);
    for (const b of blobsOf(image)) {
      const got = await cli(store, ["content", "get", b.descriptor.digest]);
      assertEquals(got.code, 0, got.stderr);
      assertEquals(got.bytes.byteLength, b.bytes.byteLength);
      assertEquals(
        `sha256:${createHash("sha256").update(got.bytes).digest("hex")}`,
        b.descriptor.digest,
      );
    }
  });
});

// ---------------------------------------------------------------------------------------
// exit codes

Deno.test("lading import of a corrupt archive exits 1 with one line on stderr naming the blob, and stores nothing", async () => {
  await withDir(async (dir, store) => {
    const { archive, image } = await demoImage();
    const layer = image.layers[0];
    const hex = layer.descriptor.digest.slice(7);
    // Flip one byte inside the layer's body in the tar.
    const at = findBytes(archive, layer.bytes.subarray(0, 64));
    const bad = archive.slice();
    bad[at + 40] ^= 0xff;
    await Deno.writeFile(`${dir}/bad.tar`, bad);
    const r = await cli(store, ["import", `${dir}/bad.tar`]);
    assertEquals(r.code, 1);
    const line = oneLine(r.stderr);
    assertMatch(line, /^lading: /);
    assertStringIncludes(line, hex);
    assertEquals(r.stdout, "");
    // Nothing stored: the store this failed first import created is not left behind.
    assertEquals(await Deno.stat(store).then(() => true, () => false), false);
  });
});

function findBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.byteLength <= hay.byteLength; i++) {
    for (let j = 0; j < needle.byteLength; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("not found");
}

Deno.test("lading import of a file that is not an archive exits 1 with one line", async () => {
  await withDir(async (dir, store) => {
    await Deno.writeTextFile(`${dir}/notes.txt`, "hello, this is not a tar\n".repeat(40));
    const r = await cli(store, ["import", `${dir}/notes.txt`]);
    assertEquals(r.code, 1);
    assertMatch(oneLine(r.stderr), /^lading: .*notes\.txt/);
  });
});

Deno.test("lading import of a tiny file that is not a tar says so, exit 1", async () => {
  await withDir(async (dir, store) => {
    await Deno.writeTextFile(`${dir}/tiny.txt`, "garbage\n");
    const r = await cli(store, ["import", `${dir}/tiny.txt`]);
    assertEquals(r.code, 1);
    assertMatch(oneLine(r.stderr), /^lading: .*tiny\.txt is not a tar archive/);
  });
});

Deno.test("lading import of a path that does not exist exits 1 with one line", async () => {
  await withDir(async (dir, store) => {
    const r = await cli(store, ["import", `${dir}/nope.tar`]);
    assertEquals(r.code, 1);
    assertMatch(oneLine(r.stderr), /^lading: .*nope\.tar/);
  });
});

Deno.test("lading images inspect of an unknown image exits 1 with one line", async () => {
  await withDir(async (dir, store) => {
    await cli(store, ["import", (await demoArchive(dir)).path]);
    const r = await cli(store, ["images", "inspect", "example.com/nothing:1"]);
    assertEquals(r.code, 1);
    assertMatch(oneLine(r.stderr), /^lading: .*example\.com\/nothing:1/);
  });
});

Deno.test("lading content get of an absent blob exits 1 with one line", async () => {
  await withDir(async (_dir, store) => {
    const r = await cli(store, ["content", "get", `sha256:${"0".repeat(64)}`]);
    assertEquals(r.code, 1);
    oneLine(r.stderr);
  });
});

for (
  const [label, args] of [
    ["an unknown flag", ["import", "--no-such-flag", "x.tar"]],
    ["a missing argument", ["import"]],
    ["a missing inspect argument", ["images", "inspect"]],
    ["an unknown command", ["frobnicate"]],
    ["an unknown subcommand", ["images", "frob"]],
    ["an invalid digest", ["content", "get", "sha256:../../x"]],
  ] as const
) {
  Deno.test(`lading with ${label} exits 2 (usage error) or 1 with a clear message`, async () => {
    await withDir(async (_dir, store) => {
      const r = await cli(store, [...args]);
      if (label === "an invalid digest") {
        assert(r.code === 1 || r.code === 2, `exit ${r.code}`);
      } else assertEquals(r.code, 2, r.stderr);
      assertMatch(r.stderr, /^lading: /);
      assertEquals(r.stdout, "");
    });
  });
}
