/**
 * The CLI's correctness on inputs people really have: one name rule in every command,
 * `images rm` by digest, the store location, imports that import nothing, platform-
 * filtered checks, OCI artifacts, extracted docker-save directories, terminals, gc.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import {
  buildImage,
  dockerArchiveFiles,
  jsonBlob,
  layoutFiles,
  tarOfFiles,
} from "../helpers/images.ts";
import { multiArchive, ROOT } from "../export/_support.ts";
import { lading, show, withDemo } from "./_run.ts";

function oneLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l !== "");
  assertEquals(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  return lines[0];
}

const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);

Deno.test("every command resolves a name the same way: exact, then the normalized reference, then a digest or a unique 12+ hex prefix", async () => {
  await withDemo(async ({ store, archive, digest }) => {
    assertEquals((await lading(store, ["import", archive])).code, 0);
    const tag = await lading(store, ["images", "tag", "example.com/demo:1", "my/app"]);
    assertEquals(tag.stdout, "docker.io/my/app:latest\n", show(tag));
    const hex = digest.slice(7, 7 + 12);
    for (const name of ["my/app", "my/app:latest", "docker.io/my/app", digest, hex]) {
      for (
        const args of [
          ["images", "inspect", name],
          ["digest", name],
          ["manifest", name],
          ["config", name],
          ["layers", name],
          ["ls", name],
          ["cat", name, "/bin/hello"],
          ["images", "check", "--quick", name],
        ]
      ) {
        const r = await lading(store, args);
        assertEquals(r.code, 0, `${args.join(" ")}: ${show(r)}`);
      }
    }
    const short = await lading(store, ["images", "inspect", digest.slice(7, 7 + 11)]);
    assertEquals(short.code, 1);
    assertStringIncludes(oneLine(short.stderr), "at least 12 hex digits");
    // Removing by the short name removes the normalized one, and only that.
    const rm = await lading(store, ["images", "rm", "my/app"]);
    assertEquals(rm.stdout, "docker.io/my/app:latest\n", show(rm));
    assertEquals((await lading(store, ["images", "ls", "-q"])).stdout, "example.com/demo:1\n");
  });
});

Deno.test("images rm <digest> refuses when several names point at it, listing them; --all-names removes them all", async () => {
  await withDemo(async ({ store, archive, digest }) => {
    await lading(store, ["import", archive]);
    await lading(store, ["images", "tag", "example.com/demo:1", "example.com/demo:2"]);
    const r = await lading(store, ["images", "rm", digest]);
    assertEquals(r.code, 1);
    const line = oneLine(r.stderr);
    assertStringIncludes(line, "example.com/demo:1, example.com/demo:2");
    assertStringIncludes(line, "--all-names");
    assertEquals((await lading(store, ["images", "ls", "-q"])).stdout.split("\n").length, 3);
    const all = await lading(store, ["images", "rm", "--all-names", digest.slice(7, 23)]);
    assertEquals(all.code, 0, show(all));
    assertEquals(all.stdout, "example.com/demo:1\nexample.com/demo:2\n");
    assertEquals((await lading(store, ["images", "ls", "-q"])).stdout, "");
    // One name: removed without --all-names.
    await lading(store, ["import", archive]);
    assertEquals((await lading(store, ["images", "rm", digest])).code, 0);
  });
});

Deno.test("read-only commands on a missing store exit 1 naming it and create nothing; writers create only the last directory", async () => {
  await withDemo(async ({ dir, archive }) => {
    const typo = `${dir}/tpyo/store`;
    for (
      const args of [
        ["images", "ls"],
        ["images", "inspect", "x"],
        ["content", "ls"],
        ["gc"],
        ["ls", "x"],
        ["export", "-o", `${dir}/x.tar`, "x"],
        ["images", "check"],
      ]
    ) {
      const r = await lading(typo, args);
      assertEquals(r.code, 1, `${args.join(" ")}: ${show(r)}`);
      assertStringIncludes(oneLine(r.stderr), typo);
      assertEquals(await exists(`${dir}/tpyo`), false, args.join(" "));
    }
    const imp = await lading(typo, ["import", archive]);
    assertEquals(imp.code, 1);
    assertStringIncludes(oneLine(imp.stderr), `${dir}/tpyo does not exist`);
    assertEquals(await exists(`${dir}/tpyo`), false);
    assertEquals((await lading(`${dir}/new`, ["import", archive])).code, 0);
    assert(await exists(`${dir}/new/oci-layout`));
    // A directory with other files: the CLI's way out, not library wording.
    await Deno.mkdir(`${dir}/docs`);
    await Deno.writeTextFile(`${dir}/docs/notes.txt`, "mine\n");
    for (const args of [["images", "ls"], ["import", archive]]) {
      const r = await lading(`${dir}/docs`, args);
      assertEquals(r.code, 1);
      const line = oneLine(r.stderr);
      assertStringIncludes(line, "not a lading store");
      assertStringIncludes(line, "--store");
      assert(!line.includes("create: true"), line);
    }
    assertEquals([...Deno.readDirSync(`${dir}/docs`)].map((e) => e.name), ["notes.txt"]);
  });
});

Deno.test("a failed first import leaves no store behind: not a new directory, not files in an empty one", async () => {
  await withDemo(async ({ dir }) => {
    await Deno.writeTextFile(`${dir}/bad.tar`, "garbage\n");
    const fresh = `${dir}/fresh`;
    const r = await lading(fresh, ["import", `${dir}/bad.tar`]);
    assertEquals(r.code, 1, show(r));
    assertEquals(await exists(fresh), false);
    await Deno.mkdir(`${dir}/empty`);
    assertEquals((await lading(`${dir}/empty`, ["import", `${dir}/bad.tar`])).code, 1);
    assertEquals([...Deno.readDirSync(`${dir}/empty`)], []);
  });
});

Deno.test("an import that imports nothing is exit 1 (a dry run only warns); unnamed entries are listed with their digest and how to name them", async () => {
  await withDemo(async ({ dir, store, archive, digest }) => {
    const none = await lading(store, ["import", "--platform", "linux/arm64", archive]);
    assertEquals(none.code, 1, show(none));
    assertStringIncludes(none.stderr, "nothing imported");
    assertStringIncludes(none.stderr, "linux/arm64");
    const dry = await lading(store, ["import", "--dry-run", "--platform", "linux/arm64", archive]);
    assertEquals(dry.code, 0, show(dry));
    assertStringIncludes(dry.stderr, "nothing would be imported");
    assertEquals((await lading(store, ["content", "ls", "-q"])).stdout, "");
    assertEquals(digest.length, 71);

    const img = await buildImage({
      docker: true,
      layers: [{ files: [{ path: "hello", content: "hi\n" }] }],
    });
    const files = await dockerArchiveFiles([{ image: img, repoTags: null }]);
    await Deno.writeFile(`${dir}/unnamed.tar`, await tarOfFiles(files));
    const first = await lading(store, ["import", `${dir}/unnamed.tar`]);
    assertEquals(first.code, 0, show(first));
    assertMatch(first.stdout, /^\(no name\) sha256:[0-9a-f]{64}\n$/);
    assertStringIncludes(first.stderr, "images tag <digest> NAME");
    const unnamedDigest = first.stdout.trim().split(" ").at(-1)!;
    const j = await lading(store, ["import", "--json", `${dir}/unnamed.tar`]);
    assertEquals(j.code, 1); // nothing new and no name
    const report = JSON.parse(j.stdout);
    assertEquals(report.entries.map((e: { digest: string }) => e.digest), [unnamedDigest]);
    assertEquals(report.entries[0].names, []);
    assertStringIncludes(first.stderr, "until then 'lading gc' removes its content");
    // The hint works.
    const tagged = await lading(store, ["images", "tag", unnamedDigest, "hello:1"]);
    assertEquals(tagged.code, 0, show(tagged));
    // With --index-name the entries are named through the index: no hint, no (no name) line.
    const other = await buildImage({ layers: [{ files: [{ path: "x", content: "x\n" }] }] });
    const layout = layoutFiles(
      [{ descriptor: other.manifest.descriptor }],
      [other.manifest, other.config, ...other.layers],
    );
    await Deno.writeFile(`${dir}/layout.tar`, await tarOfFiles(layout));
    const named = await lading(store, [
      "import",
      "--index-name",
      "example.com/i:1",
      `${dir}/layout.tar`,
    ]);
    assertEquals(named.code, 0, show(named));
    assertMatch(named.stdout, /^example\.com\/i:1 sha256:[0-9a-f]{64}\n$/);
    assert(!named.stderr.includes("no name"), named.stderr);
  });
});

Deno.test("images check --platform passes an image imported with that platform and says what it did not check", async () => {
  await withDemo(async ({ dir, store }) => {
    const multi = await multiArchive("example.com/multi:1");
    await Deno.writeFile(`${dir}/m.tar`, multi.bytes);
    const imp = await lading(store, ["import", "--platform", "linux/arm64", `${dir}/m.tar`]);
    assertEquals(imp.code, 0, show(imp));
    const all = await lading(store, ["images", "check"]);
    assertEquals(all.code, 1);
    assertStringIncludes(all.stdout, "INCOMPLETE");
    // It says which --platform would pass, and keeps the platform column aligned.
    assertStringIncludes(
      all.stdout,
      "hint: only some platforms were imported; check those with --platform linux/arm64/v8\n",
    );
    const rows = all.stdout.split("\n").filter((l) => /^ {2}\S.* sha256:/.test(l));
    assertEquals(new Set(rows.map((l) => l.lastIndexOf(" sha256:"))).size, 1, all.stdout);
    // Names of the same content each say so.
    await lading(store, ["images", "tag", "example.com/multi:1", "example.com/multi:2"]);
    const twice = await lading(store, ["images", "check", "--platform", "linux/arm64"]);
    assertStringIncludes(twice.stdout, "the same content as example.com/multi:1 above");
    const arm = await lading(store, ["images", "check", "--platform", "linux/arm64"]);
    assertEquals(arm.code, 0, show(arm));
    assertStringIncludes(arm.stdout, " ok ");
    assertStringIncludes(arm.stdout, "not checked (other platforms): linux/amd64");
    const json = JSON.parse(
      (await lading(store, ["images", "check", "--platform", "linux/arm64", "--json"])).stdout,
    );
    assertEquals(json.ok, true);
    assert(json.images[0].skippedPlatforms.includes("linux/amd64"));
  });
});

Deno.test("OCI artifacts: inspect shows the manifest and its config media type; layer commands refuse with one clear line", async () => {
  await withDemo(async ({ dir, store }) => {
    const config = await jsonBlob(
      { name: "chart", version: "1.0.0" },
      "application/vnd.cncf.helm.config.v1+json",
    );
    const chart = await jsonBlob(
      { not: "a tar" },
      "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
    );
    const manifest = await jsonBlob({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: config.descriptor,
      layers: [chart.descriptor],
    }, "application/vnd.oci.image.manifest.v1+json");
    const files = layoutFiles(
      [{ descriptor: manifest.descriptor, refName: "example.com/chart:1" }],
      [
        manifest,
        config,
        chart,
      ],
    );
    await Deno.writeFile(`${dir}/chart.tar`, await tarOfFiles(files));
    assertEquals((await lading(store, ["import", `${dir}/chart.tar`])).code, 0);
    const inspect = await lading(store, ["images", "inspect", "example.com/chart:1"]);
    assertEquals(inspect.code, 0, show(inspect));
    assertStringIncludes(inspect.stdout, "application/vnd.cncf.helm.config.v1+json");
    assertStringIncludes(inspect.stdout, "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    const j = JSON.parse(
      (await lading(store, ["images", "inspect", "--json", "example.com/chart:1"])).stdout,
    );
    assertEquals(j.configMediaType, "application/vnd.cncf.helm.config.v1+json");
    assertEquals(
      (await lading(store, ["config", "example.com/chart:1"])).stdout,
      new TextDecoder().decode(config.bytes),
    );
    for (const args of [["layers"], ["ls"], ["cat", "/x"], ["unpack", `${dir}/out`], ["waste"]]) {
      const r = await lading(store, [args[0], "example.com/chart:1", ...args.slice(1)]);
      assertEquals(r.code, 1, show(r));
      assertStringIncludes(oneLine(r.stderr), "not a container image");
    }
    const ls = await lading(store, ["images", "ls"]);
    assertEquals(ls.code, 0, show(ls));
  });
});

Deno.test("an extracted docker save directory imports like the archive", async () => {
  await withDemo(async ({ dir, store }) => {
    const img = await buildImage({
      docker: true,
      layers: [{ files: [{ path: "hello", content: "hi\n" }] }, {
        files: [{ path: "x", content: "" }],
      }],
    });
    const files = await dockerArchiveFiles([{ image: img, repoTags: ["hello:1"] }]);
    for (const [path, bytes] of files) {
      await Deno.mkdir(`${dir}/saved/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeFile(`${dir}/saved/${path}`, bytes);
    }
    const r = await lading(store, ["import", `${dir}/saved`]);
    assertEquals(r.code, 0, show(r));
    assertMatch(r.stdout, /^docker\.io\/library\/hello:1 sha256:/);
    assertEquals((await lading(store, ["cat", "hello:1", "hello"])).stdout, "hi\n");
  });
});

Deno.test("export refuses to write an archive onto a terminal, and a missing directory is one line without the temporary name", async () => {
  await withDemo(async ({ dir, store, archive }) => {
    await lading(store, ["import", archive]);
    for (
      const args of [
        ["export", "example.com/demo:1"],
        ["export", "-o", "-", "example.com/demo:1"],
        ["flatten", "example.com/demo:1"],
        // Nor is an archive read from a terminal (typed by hand, it would wait forever).
        ["import", "-"],
        ["append", "example.com/demo:1", "--layer", "-", "-t", "example.com/x:1"],
      ]
    ) {
      const r = await lading(store, args, { terminal: true });
      assertEquals(r.code, 1, show(r));
      assertStringIncludes(oneLine(r.stderr), "terminal");
      assertEquals(r.bytes.byteLength, 0);
    }
    const piped = await lading(store, ["export", "example.com/demo:1"]);
    assertEquals(piped.code, 0, show(piped));
    assert(piped.bytes.byteLength > 1024);
    const missing = await lading(store, [
      "export",
      "-o",
      `${dir}/nope/x.tar`,
      "example.com/demo:1",
    ]);
    assertEquals(missing.code, 1);
    const line = oneLine(missing.stderr);
    assertStringIncludes(line, `${dir}/nope does not exist`);
    assert(!line.includes(".tmp") && !line.includes(".x.tar.lading"), line);
  });
});

Deno.test("gc reports what it freed, stale ingest files included; gc -q prints nothing", async () => {
  await withDemo(async ({ store, archive }) => {
    await lading(store, ["import", archive]);
    await lading(store, ["images", "rm", "example.com/demo:1"]);
    await Deno.writeFile(`${store}/ingest/999999999.1-00ff`, new Uint8Array(1500));
    const r = await lading(store, ["gc"]);
    assertEquals(r.code, 0, show(r));
    assertMatch(
      r.stderr,
      /^freed [\d.]+ kB: 4 blobs \([\d.]+ kB\) and 1 stale file \(1\.5 kB\)/,
    );
    assertEquals(await exists(`${store}/ingest/999999999.1-00ff`), false);
    await lading(store, ["import", archive]);
    await lading(store, ["images", "rm", "example.com/demo:1"]);
    const q = await lading(store, ["gc", "-q"]);
    assertEquals([q.code, q.stdout, q.stderr], [0, "", ""]);
    assertEquals((await lading(store, ["content", "ls", "-q"])).stdout, "");
  });
});

Deno.test("Ctrl-C during an import removes its ingest files and lease, exit 130", async () => {
  await withDemo(async ({ store, archive }) => {
    assertEquals((await lading(store, ["import", archive])).code, 0); // the store exists
    await lading(store, ["images", "rm", "example.com/demo:1"]);
    await lading(store, ["gc", "-q"]);
    const big = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < big.byteLength; i += 65536) {
      crypto.getRandomValues(big.subarray(i, i + 65536));
    }
    const { tarOf } = await import("../helpers/images.ts");
    const tar = await tarOf([{ path: "blobs/sha256/" + "a".repeat(64), content: big }]);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", "cli.ts", "import", "-"],
      cwd: ROOT,
      env: { LADING_STORE: store },
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(tar.slice(0, 2 * 1024 * 1024)); // half a blob, then wait
    const ingest = () => [...Deno.readDirSync(`${store}/ingest`)].length;
    const leases = () => [...Deno.readDirSync(`${store}/leases`)].length;
    for (let i = 0; i < 200 && (ingest() === 0 || leases() === 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert(ingest() > 0 && leases() > 0, "the import is writing");
    child.kill("SIGINT");
    const status = await child.status;
    await w.close().catch(() => {});
    await child.stderr.cancel();
    assertEquals(status.code, 130);
    assertEquals([ingest(), leases()], [0, 0]);
  });
});

Deno.test("Ctrl-C during the first import into a new store leaves no store directory behind", async () => {
  await withDemo(async ({ store }) => {
    const big = new Uint8Array(4 * 1024 * 1024);
    const { tarOf } = await import("../helpers/images.ts");
    const tar = await tarOf([{ path: "blobs/sha256/" + "b".repeat(64), content: big }]);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", "cli.ts", "import", "-"],
      cwd: ROOT,
      env: { LADING_STORE: store },
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(tar.slice(0, 2 * 1024 * 1024));
    const ingest = () => {
      try {
        return [...Deno.readDirSync(`${store}/ingest`)].length;
      } catch {
        return 0;
      }
    };
    for (let i = 0; i < 200 && ingest() === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert(ingest() > 0, "the import is writing into the new store");
    child.kill("SIGINT");
    const status = await child.status;
    await w.close().catch(() => {});
    await child.stderr.cancel();
    assertEquals(status.code, 130);
    assertEquals(await exists(store), false);
  });
});

Deno.test("operating-system errors are one line, never a stack trace: no such file, not a directory, a file as the store", async () => {
  await withDemo(async ({ dir, store, archive }) => {
    await lading(store, ["import", archive]);
    await Deno.writeTextFile(`${dir}/file`, "x");
    for (
      const [s, args] of [
        [store, ["import", `${dir}/missing.tar`]],
        [`${dir}/file`, ["images", "ls"]],
        [`${dir}/file`, ["import", archive]],
        [`${dir}/file/store`, ["import", archive]],
        [store, ["export", "-o", `${dir}/file/x.tar`, "example.com/demo:1"]],
        [store, ["unpack", "example.com/demo:1", `${dir}/file/out`]],
        [store, ["flatten", "example.com/demo:1", "-o", `${dir}/file/x.tar`]],
      ] as const
    ) {
      const r = await lading(s, [...args]);
      assertEquals(r.code, 1, `${args.join(" ")}: ${show(r)}`);
      const line = oneLine(r.stderr);
      assert(!/\bat \S+:\d+:\d+/.test(line) && !line.includes("internal error"), line);
    }
  });
});
