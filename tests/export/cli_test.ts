/**
 * `lading export` as a subprocess: output files, refusals, stdout, gzip, and no partial
 * output under the target name when an export fails or is interrupted.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { buildImage, layoutFiles, tarOfFiles } from "../helpers/images.ts";
import { collect, multiArchive, ROOT, runCli, singleArchive, withTempDir } from "./_support.ts";

async function listDir(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

async function storeWithImages(dir: string): Promise<string> {
  const store = `${dir}/store`;
  const m = await multiArchive("example.com/multi:1");
  const s = await singleArchive("example.com/single:1");
  await Deno.writeFile(`${dir}/m.tar`, m.bytes);
  await Deno.writeFile(`${dir}/s.tar`, s.bytes);
  for (const f of ["m.tar", "s.tar"]) {
    const r = await runCli(["import", `${dir}/${f}`], { store });
    assertEquals(r.code, 0, r.stderr);
  }
  return store;
}

Deno.test("lading export writes a file, refuses to overwrite it without --force, and replaces it with --force", async () => {
  await withTempDir(async (dir) => {
    const store = await storeWithImages(dir);
    await Deno.mkdir(`${dir}/out`);
    const out = `${dir}/out/x.tar`;
    const first = await runCli(["export", "-o", out, "example.com/multi:1"], { store });
    assertEquals(first.code, 0, first.stderr);
    assertStringIncludes(first.stderr, "exported 1 image");
    const bytes = await Deno.readFile(out);
    const again = await runCli(["export", "-o", out, "example.com/single:1"], { store });
    assertEquals(again.code, 1);
    assertEquals(again.stderr.trim().split("\n").length, 1, again.stderr);
    assertStringIncludes(again.stderr, "--force");
    assertEquals(await Deno.readFile(out), bytes, "the existing file is untouched");
    const forced = await runCli(["export", "--force", "-o", out, "example.com/single:1"], {
      store,
    });
    assertEquals(forced.code, 0, forced.stderr);
    assert((await Deno.readFile(out)).byteLength !== bytes.byteLength);
    assertEquals(await listDir(`${dir}/out`), ["x.tar"], "no temporary files are left");
  });
});

Deno.test("lading export: unknown name, digest or platform is one clear line, exit 1, and no output file", async () => {
  await withTempDir(async (dir) => {
    const store = await storeWithImages(dir);
    const out = `${dir}/x.tar`;
    for (
      const args of [
        ["example.com/nope:1"],
        [`sha256:${"0".repeat(64)}`],
        ["--platform", "linux/s390x", "example.com/multi:1"],
        ["example.com/single:1", "example.com/nope:2"],
      ]
    ) {
      const r = await runCli(["export", "-o", out, ...args], { store });
      assertEquals(r.code, 1, `${args}: ${r.stderr}`);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert(r.stderr.startsWith("lading: "), r.stderr);
    }
    const bad = await runCli(["export", "-o", out, "--format", "tgz", "example.com/single:1"], {
      store,
    });
    assertEquals(bad.code, 2);
    assertEquals((await listDir(dir)).filter((n) => n.includes("x.tar")), []);
  });
});

Deno.test("lading export -o - streams the same bytes to stdout; --gzip wraps them in gzip", async () => {
  await withTempDir(async (dir) => {
    const store = await storeWithImages(dir);
    const file = await runCli(["export", "-o", `${dir}/a.tar`, "example.com/multi:1"], { store });
    assertEquals(file.code, 0, file.stderr);
    const stdout = await runCli(["export", "-o", "-", "example.com/multi:1"], { store });
    assertEquals(stdout.code, 0, stdout.stderr);
    assertEquals(stdout.bytes, await Deno.readFile(`${dir}/a.tar`));
    const gz = await runCli(["export", "--gzip", "-o", `${dir}/a.tar.gz`, "example.com/multi:1"], {
      store,
    });
    assertEquals(gz.code, 0, gz.stderr);
    const plain = await collect(
      (await Deno.open(`${dir}/a.tar.gz`)).readable.pipeThrough(new DecompressionStream("gzip")),
    );
    assertEquals(plain, stdout.bytes);
    const json = await runCli(["export", "--json", "-o", `${dir}/b.tar`, "example.com/single:1"], {
      store,
    });
    assertEquals(JSON.parse(json.stdout).images[0].name, "example.com/single:1");
  });
});

Deno.test("lading export that fails midway leaves no file under the target name and no temporary file", async () => {
  await withTempDir(async (dir) => {
    const store = await storeWithImages(dir);
    // Corrupt one layer of the single image: --verify notices it while streaming.
    const index = JSON.parse(await Deno.readTextFile(`${store}/index.json`));
    const target = index.manifests.find((m: { annotations: Record<string, string> }) =>
      m.annotations["io.containerd.image.name"] === "example.com/single:1"
    );
    const manifest = JSON.parse(
      await Deno.readTextFile(`${store}/blobs/sha256/${target.digest.slice(7)}`),
    );
    const layer = `${store}/blobs/sha256/${manifest.layers[1].digest.slice(7)}`;
    const bytes = await Deno.readFile(layer);
    bytes[0] ^= 0xff;
    await Deno.chmod(layer, 0o644);
    await Deno.writeFile(layer, bytes);
    await Deno.mkdir(`${dir}/out`);
    const r = await runCli(
      ["export", "--verify", "-o", `${dir}/out/x.tar`, "example.com/single:1"],
      {
        store,
      },
    );
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, manifest.layers[1].digest);
    assertEquals(await listDir(`${dir}/out`), []);
  });
});

Deno.test("lading export interrupted with SIGINT exits 130 and leaves no file under the target name, no temporary file, nothing in the store", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    // 24 MiB of incompressible data, exported with --gzip: slow enough to interrupt.
    const noise = new Uint8Array(24 * 1024 * 1024);
    for (let i = 0; i < noise.length; i += 65536) {
      crypto.getRandomValues(noise.subarray(i, i + 65536));
    }
    const image = await buildImage({
      layers: [{ files: [{ path: "noise", content: noise }], compression: "none" }],
    });
    const files = layoutFiles([{
      descriptor: image.manifest.descriptor,
      refName: "example.com/big:1",
    }], [
      image.manifest,
      image.config,
      ...image.layers,
    ]);
    await Deno.writeFile(`${dir}/big.tar`, await tarOfFiles(files));
    assertEquals((await runCli(["import", `${dir}/big.tar`], { store })).code, 0);
    await Deno.mkdir(`${dir}/out`);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-check",
        "cli.ts",
        "export",
        "--gzip",
        "-o",
        `${dir}/out/big.tar.gz`,
        "example.com/big:1",
      ],
      cwd: ROOT,
      env: { LADING_STORE: store },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Wait for the temporary file to appear, then interrupt. The export only reads the
    // store (no lease, no ingest file): it must leave the store as it was.
    const storeFiles =
      async () => [...await listDir(`${store}/ingest`), ...await listDir(`${store}/leases`)];
    const before = await storeFiles();
    let seen = false;
    for (let i = 0; i < 400 && !seen; i++) {
      seen = (await listDir(`${dir}/out`)).length > 0;
      if (!seen) await new Promise((r) => setTimeout(r, 10));
    }
    assert(seen, "the export is writing its temporary file");
    child.kill("SIGINT");
    const status = await child.output();
    assertEquals(status.code, 130, new TextDecoder().decode(status.stderr));
    assertEquals(await listDir(`${dir}/out`), []);
    assertEquals(await storeFiles(), before);
  });
});
