import { checkImage, checkImages, verifyContent } from "../src/check.ts";
import { planExport } from "../src/export/mod.ts";
import { openFsStore } from "../src/store/fs.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { jsonBlob, layoutFiles, tarOfFiles } from "./helpers/images.ts";
import {
  collect,
  importBytes,
  multiArchive,
  runCli,
  singleArchive,
  withTempDir,
} from "./export/_support.ts";

/** Flips one byte of a blob file in an fs store. */
async function corrupt(storeDir: string, digest: string): Promise<void> {
  const path = `${storeDir}/blobs/sha256/${digest.slice(7)}`;
  const bytes = await Deno.readFile(path);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  await Deno.chmod(path, 0o644);
  await Deno.writeFile(path, bytes);
}

Deno.test("checkImage() reports a healthy multi-platform image per platform, attestation included", async () => {
  const store = new MemoryStore();
  const a = await multiArchive("example.com/a:1");
  await importBytes(store, a.bytes);
  const c = await checkImage(store, await store.getImage("example.com/a:1"));
  assertEquals(c.ok, true);
  assertEquals(c.complete, true);
  assertEquals(c.verified, true);
  assertEquals(c.platforms.map((p) => [p.platform, p.complete]), [
    ["linux/amd64", true],
    ["linux/arm64/v8", true],
    [`attestation for ${a.image.amd64.manifest.descriptor.digest.slice(0, 19)}`, true],
  ]);
  assertEquals(c.blobs, new Set(a.image.blobs.map((b) => b.descriptor.digest)).size);
});

Deno.test("checkImage() on an image imported with --allow-missing names the missing platform and blobs", async () => {
  const first = new MemoryStore();
  const a = await multiArchive("example.com/a:1");
  await importBytes(first, a.bytes);
  const partial = await collect(
    (await planExport(first, ["example.com/a:1"], {
      platforms: [{ os: "linux", architecture: "arm64" }],
      keepIndex: true,
    })).stream(),
  );
  const store = new MemoryStore();
  await importBytes(store, partial, { allowMissing: true });
  const c = await checkImage(store, await store.getImage("example.com/a:1"));
  assertEquals(c.ok, false);
  assertEquals(c.complete, false);
  const amd = c.platforms.find((p) => p.platform === "linux/amd64")!;
  assertEquals(amd.complete, false);
  assertEquals(amd.problems.map((p) => [p.kind, p.digest]), [[
    "missing",
    a.image.amd64.manifest.descriptor.digest,
  ]]);
  assertEquals(c.platforms.find((p) => p.platform === "linux/arm64/v8")!.complete, true);
});

Deno.test("checkImage() finds a layer that no longer hashes to its name and attributes it to its platform; --quick does not", async () => {
  await withTempDir(async (dir) => {
    const store = await openFsStore(dir);
    const a = await multiArchive("example.com/a:1");
    await importBytes(store, a.bytes);
    const layer = a.image.arm64.layers[1].descriptor.digest;
    await corrupt(dir, layer);
    const [c] = await checkImages(store);
    assertEquals(c.ok, false);
    assertEquals(c.complete, true, "present, but corrupt");
    const arm = c.platforms.find((p) => p.platform === "linux/arm64/v8")!;
    assertEquals(arm.problems.map((p) => [p.kind, p.digest]), [["digest", layer]]);
    assertStringIncludes(arm.problems[0].message, "hashes to sha256:");
    assertEquals(c.platforms.find((p) => p.platform === "linux/amd64")!.problems, []);
    const [quick] = await checkImages(store, undefined, { verify: false });
    assertEquals(quick.ok, true);
    const report = await verifyContent(store);
    assertEquals(report.problems.map((p) => p.digest), [layer]);
    assertEquals(report.blobs, new Set(a.image.blobs.map((b) => b.descriptor.digest)).size);
  });
});

Deno.test("a layer shared by two platforms is hashed once and its problem reported for both", async () => {
  await withTempDir(async (dir) => {
    const store = await openFsStore(dir);
    const a = await multiArchive("example.com/a:1");
    await importBytes(store, a.bytes);
    const shared = a.image.amd64.layers[0].descriptor.digest;
    assertEquals(shared, a.image.arm64.layers[0].descriptor.digest);
    await corrupt(dir, shared);
    let hashed = 0;
    const c = await checkImage(store, await store.getImage("example.com/a:1"), {
      onProgress: (n) => (hashed = n),
    });
    for (const p of c.platforms.filter((p) => !p.platform.startsWith("attestation"))) {
      assertEquals(p.problems.map((x) => x.digest), [shared], p.platform);
    }
    const sizes = new Map(
      [...a.image.amd64.layers, ...a.image.arm64.layers, a.image.amd64.config, a.image.arm64.config]
        .map((l) => [l.descriptor.digest, l.descriptor.size]),
    );
    const expected = [...sizes.values()].reduce((n, x) => n + x, 0);
    assert(hashed <= expected + 1000, `hashed ${hashed} bytes, expected about ${expected}`);
  });
});

Deno.test("lading images check and content verify exit 0 on a healthy store and 1 with exact findings", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const a = await multiArchive("example.com/a:1");
    const s = await singleArchive("example.com/s:1");
    await Deno.writeFile(`${dir}/a.tar`, a.bytes);
    await Deno.writeFile(`${dir}/s.tar`, s.bytes);
    for (const f of ["a.tar", "s.tar"]) {
      assertEquals((await runCli(["import", `${dir}/${f}`], { store })).code, 0);
    }
    const ok = await runCli(["images", "check"], { store });
    assertEquals(ok.code, 0, ok.stdout + ok.stderr);
    assertStringIncludes(ok.stdout, "example.com/a:1");
    assertStringIncludes(ok.stdout, "linux/arm64/v8");
    assertEquals((await runCli(["content", "verify"], { store })).code, 0);

    const layer = s.image.layers[0].descriptor.digest;
    await corrupt(store, layer);
    const bad = await runCli(["images", "check", "example.com/s:1"], { store });
    assertEquals(bad.code, 1);
    assertStringIncludes(
      bad.stdout,
      `digest: ${s.image.layers[0].descriptor.mediaType} ${layer} hashes to`,
    );
    const healthy = await runCli(["images", "check", "example.com/a:1"], { store });
    assertEquals(healthy.code, 0, "only the named image is checked");
    const verify = await runCli(["content", "verify", "--json"], { store });
    assertEquals(verify.code, 1);
    assertEquals(JSON.parse(verify.stdout).problems.map((p: { digest: string }) => p.digest), [
      layer,
    ]);
    const unknown = await runCli(["images", "check", "example.com/nope:1"], { store });
    assertEquals(unknown.code, 1);
    assertEquals(unknown.stderr.trim().split("\n").length, 1);
  });
});

Deno.test("import --allow-missing: images ls, images inspect and images check show the image as incomplete", async () => {
  await withTempDir(async (dir) => {
    const first = new MemoryStore();
    const a = await multiArchive("example.com/a:1");
    await importBytes(first, a.bytes);
    const partial = await collect(
      (await planExport(first, ["example.com/a:1"], {
        platforms: [{ os: "linux", architecture: "arm64" }],
        keepIndex: true,
      })).stream(),
    );
    await Deno.writeFile(`${dir}/p.tar`, partial);
    const store = `${dir}/store`;
    const refused = await runCli(["import", `${dir}/p.tar`], { store });
    assertEquals(refused.code, 1);
    const imp = await runCli(["import", "--allow-missing", `${dir}/p.tar`], { store });
    assertEquals(imp.code, 0, imp.stderr);
    assertStringIncludes(imp.stderr, `missing: ${a.image.amd64.manifest.descriptor.digest}`);
    const ls = await runCli(["images", "ls"], { store });
    assertStringIncludes(ls.stdout, "linux/amd64 (missing)");
    const lsJson = JSON.parse((await runCli(["images", "ls", "--json"], { store })).stdout);
    assertEquals(lsJson[0].incomplete, true);
    assertEquals(lsJson[0].missingPlatforms, ["linux/amd64"]);
    const inspect = await runCli(["images", "inspect", "example.com/a:1"], { store });
    assertEquals(inspect.code, 0, inspect.stderr);
    assertStringIncludes(inspect.stdout, "Platform:     linux/arm64");
    assertStringIncludes(inspect.stdout, "[not in store]");
    const inspectAmd = await runCli([
      "images",
      "inspect",
      "--platform",
      "linux/amd64",
      "example.com/a:1",
    ], { store });
    assertEquals(inspectAmd.code, 1);
    assertStringIncludes(inspectAmd.stderr, a.image.amd64.manifest.descriptor.digest);
    const check = await runCli(["images", "check", "--json"], { store });
    assertEquals(check.code, 1);
    const result = JSON.parse(check.stdout);
    assertEquals(result.images[0].complete, false);
    assertEquals(
      result.images[0].platforms.map((
        p: { platform: string; complete: boolean },
      ) => [p.platform, p.complete]),
      [["linux/amd64", false], ["linux/arm64/v8", true], [
        `attestation for ${a.image.amd64.manifest.descriptor.digest.slice(0, 19)}`,
        false,
      ]],
    );
  });
});

Deno.test("lading content rm refuses a blob a name reaches unless --force; images rm and tag change names only", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const s = await singleArchive("example.com/s:1");
    await Deno.writeFile(`${dir}/s.tar`, s.bytes);
    assertEquals((await runCli(["import", `${dir}/s.tar`], { store })).code, 0);
    const layer = s.image.layers[0].descriptor.digest;

    const refused = await runCli(["content", "rm", layer], { store });
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.stderr, "example.com/s:1");

    const tag = await runCli(["images", "tag", "example.com/s:1", "example.com/t:1", "other"], {
      store,
    });
    assertEquals(tag.code, 0, tag.stderr);
    assertEquals(tag.stdout, "example.com/t:1\ndocker.io/library/other:latest\n");
    const names = (await runCli(["images", "ls", "-q"], { store })).stdout;
    assertEquals(names, "docker.io/library/other:latest\nexample.com/s:1\nexample.com/t:1\n");
    const clash = await runCli(["images", "tag", `sha256:${"0".repeat(64)}`, "example.com/t:1"], {
      store,
    });
    assertEquals(clash.code, 1);

    const rm = await runCli(["images", "rm", "example.com/s:1", "other"], { store });
    assertEquals(rm.code, 0, rm.stderr);
    const stillReached = await runCli(["content", "rm", layer], { store });
    assertEquals(stillReached.code, 1, "example.com/t:1 still reaches it");
    const forced = await runCli(["content", "rm", "--force", layer], { store });
    assertEquals(forced.code, 0, forced.stderr);
    assertStringIncludes(forced.stderr, "example.com/t:1 is now incomplete");
    const missing = await runCli(["content", "rm", layer], { store });
    assertEquals(missing.code, 1);
    const rmUnknown = await runCli(["images", "rm", "example.com/nope:1"], { store });
    assertEquals(rmUnknown.code, 1);
    assertEquals(rmUnknown.stderr.trim().split("\n").length, 1);
    const check = await runCli(["images", "check", "example.com/t:1"], { store });
    assertEquals(check.code, 1);
    assertStringIncludes(
      check.stdout,
      `missing: ${s.image.layers[0].descriptor.mediaType} ${layer}`,
    );
  });
});

Deno.test("lading images check --diff-ids decompresses layers: ok for a good image, exit 1 naming a wrong diff_id", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const good = await singleArchive("example.com/good:1", "diff");
    await Deno.writeFile(`${dir}/g.tar`, good.bytes);
    assertEquals((await runCli(["import", `${dir}/g.tar`], { store })).code, 0);
    // The same layers under a config whose second diff_id is wrong.
    const image = good.image;
    const wrong = `sha256:${"e".repeat(64)}`;
    const config = await jsonBlob(
      {
        ...JSON.parse(new TextDecoder().decode(image.config.bytes)),
        rootfs: { type: "layers", diff_ids: [image.diffIds[0], wrong] },
      },
      "application/vnd.oci.image.config.v1+json",
    );
    const manifest = await jsonBlob(
      {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: config.descriptor,
        layers: image.layers.map((l) => l.descriptor),
      },
      "application/vnd.oci.image.manifest.v1+json",
    );
    const files = layoutFiles([{ descriptor: manifest.descriptor, refName: "example.com/bad:1" }], [
      manifest,
      config,
      ...image.layers,
    ]);
    await Deno.writeFile(`${dir}/b.tar`, await tarOfFiles(files));
    assertEquals((await runCli(["import", `${dir}/b.tar`], { store })).code, 0);
    const ok = await runCli(["images", "check", "--diff-ids", "example.com/good:1"], { store });
    assertEquals(ok.code, 0, ok.stdout + ok.stderr);
    assertStringIncludes(ok.stdout, "diff_ids ok");
    const bad = await runCli(["images", "check", "--diff-ids", "example.com/bad:1"], { store });
    assertEquals(bad.code, 1, bad.stdout);
    assertStringIncludes(bad.stdout, `MISMATCH expected ${wrong}`);
    const plain = await runCli(["images", "check", "example.com/bad:1"], { store });
    assertEquals(plain.code, 0, "without --diff-ids only blob digests are checked");
  });
});

Deno.test("lading images check also checks index.json entries without a name, by digest, and gc keeps them", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const named = await singleArchive("example.com/named:1", "named");
    const loose = await singleArchive("example.com/loose:1", "loose");
    for (const [f, a] of [["n.tar", named], ["l.tar", loose]] as const) {
      await Deno.writeFile(`${dir}/${f}`, a.bytes);
      assertEquals((await runCli(["import", `${dir}/${f}`], { store })).code, 0);
    }
    // What a tool that copies an image in without a tag leaves: an entry with no name
    // (and one more without a name for a digest that has one, listed once under its name).
    const index = JSON.parse(await Deno.readTextFile(`${store}/index.json`));
    const looseDigest = loose.image.manifest.descriptor.digest;
    const namedDigest = named.image.manifest.descriptor.digest;
    for (const e of index.manifests) if (e.digest === looseDigest) delete e.annotations;
    index.manifests.push({ ...named.image.manifest.descriptor });
    await Deno.writeTextFile(`${store}/index.json`, JSON.stringify(index));

    const ok = await runCli(["images", "check"], { store });
    assertEquals(ok.code, 0, ok.stdout + ok.stderr);
    const lines = ok.stdout.split("\n").filter((l) => !l.startsWith(" ") && l);
    assertEquals(lines.length, 2, ok.stdout);
    assert(lines[0].startsWith(`example.com/named:1  ${namedDigest}  ok`), lines[0]);
    assert(lines[1].startsWith(`(no name)  ${looseDigest}  ok`), lines[1]);
    const json = JSON.parse((await runCli(["images", "check", "--json"], { store })).stdout);
    assertEquals(
      json.images.map((i: { name: string | null; digest: string }) => [i.name, i.digest]),
      [["example.com/named:1", namedDigest], [null, looseDigest]],
    );
    const diffIds = await runCli(["images", "check", "--diff-ids"], { store });
    assertEquals(diffIds.code, 0, diffIds.stdout + diffIds.stderr);
    // gc keeps what the unnamed entry reaches: it is an image of the layout like the others.
    const gc = await runCli(["gc", "--json"], { store });
    assertEquals(gc.code, 0, gc.stderr);
    assertEquals(JSON.parse(gc.stdout).removed, []);
    assertEquals((await runCli(["images", "check"], { store })).code, 0);

    await corrupt(store, loose.image.layers[0].descriptor.digest);
    const bad = await runCli(["images", "check"], { store });
    assertEquals(bad.code, 1, bad.stdout);
    assertStringIncludes(bad.stdout, `(no name)  ${looseDigest}  CORRUPT`);
    assertStringIncludes(bad.stdout, loose.image.layers[0].descriptor.digest);
    assertStringIncludes(bad.stderr, "1 problem image found");
  });
});

Deno.test("checkImages reports one running total of bytes hashed across images, never going back", async () => {
  await withTempDir(async (dir) => {
    const store = await openFsStore(dir);
    await importBytes(store, (await multiArchive("example.com/a:1", "a")).bytes);
    await importBytes(store, (await multiArchive("example.com/b:1", "b")).bytes);
    const seen: number[] = [];
    const checks = await checkImages(store, undefined, { onProgress: (n) => seen.push(n) });
    assertEquals(checks.length, 2);
    assert(seen.length > 2, String(seen));
    for (let i = 1; i < seen.length; i++) assert(seen[i] >= seen[i - 1], String(seen));
  });
});
