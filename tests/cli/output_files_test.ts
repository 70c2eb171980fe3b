/**
 * Where `export` and `flatten` write: a new file (atomically), an existing file (only with
 * --force), a device or fifo (written in place, never replaced), a directory (refused), and
 * what Ctrl-C leaves (nothing).
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { buildImage, tarOfFiles } from "../helpers/images.ts";
import { ROOT } from "../export/_support.ts";
import { lading, show, withDemo } from "./_run.ts";

const IMG = "example.com/demo:1";

async function mkfifo(path: string): Promise<void> {
  const r = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert(r.success, "mkfifo");
}

Deno.test("export and flatten write into a fifo or device in place (no --force needed, the node stays) and refuse a directory in one line", async () => {
  await withDemo(async ({ dir, store, archive }) => {
    await lading(store, ["import", archive]);
    for (const command of [["export"], ["flatten"]]) {
      const fifo = `${dir}/pipe`;
      await mkfifo(fifo);
      const reader = new Deno.Command("cat", { args: [fifo], stdout: "piped" }).output();
      const r = await lading(store, [...command, IMG, "-o", fifo]);
      assertEquals(r.code, 0, show(r));
      const read = await reader;
      const expected = await lading(store, [...command, IMG]);
      assertEquals(read.stdout, expected.bytes, "the fifo got the same bytes as stdout");
      assert((await Deno.lstat(fifo)).isFifo, "the fifo is still a fifo, not a renamed file");
      await Deno.remove(fifo);
      const null_ = await lading(store, [...command, IMG, "-q", "-o", "/dev/null"]);
      assertEquals(null_.code, 0, show(null_));
      assert((await Deno.lstat("/dev/null")).isCharDevice, "/dev/null is still a device");
      const d = await lading(store, [...command, IMG, "-o", dir]);
      assertEquals(d.code, 1, show(d));
      assertEquals(d.stderr, `lading: Cannot write ${dir}: it is a directory\n`);
      // An existing file is replaced only with --force, and is checked before any work.
      await Deno.writeTextFile(`${dir}/old.tar`, "old");
      const old = await lading(store, [...command, IMG, "-o", `${dir}/old.tar`]);
      assertEquals(old.code, 1, show(old));
      assertStringIncludes(old.stderr, "it exists; use --force to replace it");
      assertEquals(await Deno.readTextFile(`${dir}/old.tar`), "old");
      const forced = await lading(store, [...command, IMG, "--force", "-o", `${dir}/old.tar`]);
      assertEquals(forced.code, 0, show(forced));
      assertEquals(await Deno.readFile(`${dir}/old.tar`), expected.bytes);
      await Deno.writeTextFile(`${dir}/file`, "x");
      const under = await lading(store, [...command, IMG, "-o", `${dir}/file/x.tar`]);
      assertEquals(
        under.stderr,
        `lading: Cannot write ${dir}/file/x.tar: ${dir}/file is not a directory\n`,
      );
      await Deno.remove(`${dir}/file`);
    }
  });
});

Deno.test("Ctrl-C (exit 130) or SIGTERM (exit 143) during flatten -o FILE removes the temporary file", async () => {
  await withDemo(async ({ dir, store }) => {
    // 48 MiB that do not compress: long enough to be interrupted mid-write.
    const big = new Uint8Array(48 * 1024 * 1024);
    for (let i = 0; i < big.byteLength; i += 65536) {
      crypto.getRandomValues(big.subarray(i, i + 65536));
    }
    const image = await buildImage({
      layers: [{ files: [{ path: "big", content: big }], compression: "none" }],
    });
    const files = new Map<string, Uint8Array>();
    for (const b of [image.manifest, image.config, ...image.layers]) {
      files.set(`blobs/sha256/${b.descriptor.digest.slice(7)}`, b.bytes);
    }
    files.set("oci-layout", new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}'));
    files.set(
      "index.json",
      new TextEncoder().encode(JSON.stringify({
        schemaVersion: 2,
        manifests: [{
          ...image.manifest.descriptor,
          annotations: { "org.opencontainers.image.ref.name": "example.com/big:1" },
        }],
      })),
    );
    await Deno.writeFile(`${dir}/big.tar`, await tarOfFiles(files));
    assertEquals((await lading(store, ["import", "-q", `${dir}/big.tar`])).code, 0);
    await Deno.mkdir(`${dir}/out`);
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--no-check",
          "cli.ts",
          "flatten",
          "example.com/big:1",
          "-o",
          `${dir}/out/f.tar`,
        ],
        cwd: ROOT,
        env: { LADING_STORE: store },
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const tmp = () => [...Deno.readDirSync(`${dir}/out`)].filter((e) => e.name.endsWith(".tmp"));
      for (let i = 0; i < 2000 && tmp().length === 0; i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      assertEquals(tmp().length, 1, "flatten is writing its temporary file");
      child.kill(signal);
      const status = await child.status;
      await child.stderr.cancel();
      assertEquals(status.code, code, signal);
      assertEquals([...Deno.readDirSync(`${dir}/out`)].map((e) => e.name), [], signal);
    }
  });
});
