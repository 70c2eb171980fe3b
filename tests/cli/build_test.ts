/**
 * `lading append` and `lading mutate` on a real fs store: the result is named, carries the
 * layers and config asked for, umoci unpacks it, the same inputs give the same digest,
 * and bad input is one line on stderr with the store unchanged.
 * @module
 */
import { appendLayer, emptyImage, resolveImage, setConfig, writeImage } from "@lading/oci";
import { openFsStore } from "@lading/oci/fs";
import { assert, assertEquals } from "../assert.ts";
import { runCli, withTempDir } from "../export/_support.ts";
import { haveTools, run } from "../interop/_tools.ts";
import { tarOf } from "../helpers/images.ts";

async function seed(store: string): Promise<void> {
  const s = await openFsStore(store);
  try {
    const image = await appendLayer(s, emptyImage(), {
      files: [{ path: "etc/base", content: "base\n" }],
    });
    await writeImage(s, setConfig(image, { Cmd: ["/bin/sh"], Env: ["A=1"] }), {
      name: "example.com/base:1",
    });
  } finally {
    await s.close();
  }
}

async function storeFiles(store: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${store}/blobs/sha256`)) out.push(e.name);
  return [...out.sort(), await Deno.readTextFile(`${store}/index.json`)];
}

Deno.test("lading append adds a directory and a tar as layers; the same inputs give the same digest", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    await seed(store);
    await Deno.mkdir(`${dir}/app/bin`, { recursive: true });
    await Deno.writeTextFile(`${dir}/app/bin/run`, "#!/bin/sh\necho run\n", { mode: 0o755 });
    await Deno.chmod(`${dir}/app/bin/run`, 0o755);
    await Deno.writeFile(
      `${dir}/extra.tar`,
      await tarOf([{ path: "extra/", type: "directory" }, { path: "extra/x", content: "x\n" }]),
    );
    const args = [
      "append",
      "example.com/base:1",
      "--layer",
      `${dir}/app`,
      "--prefix",
      "/opt",
      "--layer",
      `${dir}/extra.tar`,
      "-t",
      "example.com/app:1",
      "--json",
    ];
    const first = await runCli(args, { store });
    assertEquals(first.code, 0, first.stderr);
    const out = JSON.parse(first.stdout);
    assertEquals(out.name, "example.com/app:1");
    assertEquals(out.layers.length, 3);
    const again = await runCli([...args.slice(0, -3), "-t", "example.com/app:2", "--json"], {
      store,
    });
    assertEquals(JSON.parse(again.stdout).digest, out.digest);
    const ls = await runCli(["ls", "-R", "example.com/app:1", "--merged"], { store });
    assertEquals(ls.code, 0, ls.stderr);
    for (const p of ["etc/base", "opt/bin/run", "extra/x"]) {
      assert(ls.stdout.includes(p), ls.stdout);
    }
    const cat = await runCli(["cat", "example.com/app:1", "/opt/bin/run"], { store });
    assertEquals(cat.stdout, "#!/bin/sh\necho run\n");
    const check = await runCli(["images", "check", "--diff-ids", "example.com/app:1"], { store });
    assertEquals(check.code, 0, check.stderr + check.stdout);
  });
});

Deno.test("lading mutate sets env, cmd, entrypoint, workdir, user, labels, ports and annotations", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    await seed(store);
    const r = await runCli([
      "mutate",
      "example.com/base:1",
      "--env",
      "B=2",
      "--env",
      "A=3",
      "--cmd",
      '["/app","--port","80"]',
      "--entrypoint",
      "/bin/sh -c",
      "--workdir",
      "/srv",
      "--user",
      "1000:1000",
      "--label",
      "team=a",
      "--expose",
      "8080",
      "--annotation",
      "org.opencontainers.image.source=https://example.com/x",
      "-t",
      "example.com/base:2",
    ], { store });
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.startsWith("example.com/base:2 sha256:"), r.stdout);
    const s = await openFsStore(store);
    try {
      const image = await resolveImage(s, "example.com/base:2");
      const c = image.config.config!;
      assertEquals(c.Env, ["A=3", "B=2"]);
      assertEquals(c.Cmd, ["/app", "--port", "80"]);
      assertEquals(c.Entrypoint, ["/bin/sh", "-c"]);
      assertEquals([c.WorkingDir, c.User], ["/srv", "1000:1000"]);
      assertEquals(c.Labels, { team: "a" });
      assertEquals(Object.keys(c.ExposedPorts ?? {}), ["8080/tcp"]);
      assertEquals(image.manifest.annotations, {
        "org.opencontainers.image.source": "https://example.com/x",
      });
      const base = await resolveImage(s, "example.com/base:1");
      assertEquals(base.config.config?.Env, ["A=1"]);
    } finally {
      await s.close();
    }
  });
});

Deno.test("umoci unpacks what lading append made", async () => {
  if (!(await haveTools("append interop", "umoci"))) return;
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    await seed(store);
    await Deno.mkdir(`${dir}/app`);
    await Deno.writeTextFile(`${dir}/app/hello`, "hello\n");
    const r = await runCli(
      ["append", "example.com/base:1", "--layer", `${dir}/app`, "-t", "example.com/app:1"],
      { store },
    );
    assertEquals(r.code, 0, r.stderr);
    const rootless = Deno.uid() !== 0 ? ["--rootless"] : [];
    await run("umoci", [
      "unpack",
      ...rootless,
      "--image",
      `${store}:example.com/app:1`,
      `${dir}/b`,
    ]);
    assertEquals(await Deno.readTextFile(`${dir}/b/rootfs/hello`), "hello\n");
    assertEquals(await Deno.readTextFile(`${dir}/b/rootfs/etc/base`), "base\n");
  });
});

Deno.test("append and mutate refuse bad input with one line and leave the store as it was", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    await seed(store);
    const before = await storeFiles(store);
    const cases: [string[], number][] = [
      [["append", "example.com/base:1", "--layer", `${dir}/nope`, "-t", "x:1"], 1],
      [["append", "example.com/base:1", "-t", "x:1"], 2],
      [["append", "example.com/missing:1", "--layer", dir, "-t", "x:1"], 1],
      [["mutate", "example.com/base:1", "--env", "NOEQUALS", "-t", "x:1"], 2],
      [["mutate", "example.com/base:1", "--expose", "http", "-t", "x:1"], 2],
      [["mutate", "example.com/base:1", "--cmd", "[1,2]", "-t", "x:1"], 2],
      [["mutate", "example.com/base:1", "-t", "Not A Name"], 2],
    ];
    for (const [args, code] of cases) {
      const r = await runCli(args, { store });
      assertEquals(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assertEquals(r.stderr.trim().split("\n")[0].startsWith("lading: "), true, r.stderr);
      assert(!r.stderr.includes("    at "), r.stderr);
    }
    assertEquals(await storeFiles(store), before);
  });
});
