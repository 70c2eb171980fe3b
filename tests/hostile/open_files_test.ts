/**
 * Open files are bounded whatever the number of blobs: a valid image of 5,000 blobs
 * imports under `ulimit -n 256`, as an oci-archive and as a layout directory (ctr imports
 * both; lading once kept one open file per staged blob). And when descriptors run out
 * anyway (EMFILE at any point of a command), the command says so in one line, exits 1 and
 * leaves the store as it was.
 * @module
 */
import { createHash } from "node:crypto";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { snapshot, withTempDir, writeFiles } from "../import/_support.ts";
import { runDeno } from "../helpers/peak_rss.ts";
import { rawMember, rawTar } from "../helpers/tars.ts";
import { layoutFiles, tarOfFiles } from "../helpers/images.ts";
import * as mt from "../../src/media_types.ts";
import type { Descriptor } from "../../src/types.ts";

const cli = new URL("../../cli.ts", import.meta.url);
const emfile = new URL("./_emfile.ts", import.meta.url);
const enc = new TextEncoder();
const BLOBS = 5000;

function described(
  bytes: Uint8Array,
  mediaType: string,
): { descriptor: Descriptor; bytes: Uint8Array } {
  const hex = createHash("sha256").update(bytes).digest("hex");
  return { descriptor: { mediaType, digest: `sha256:${hex}`, size: bytes.byteLength }, bytes };
}

/** The files of an OCI layout holding one image of `blobs` blobs (blobs − 2 one-file layers). */
function manyBlobLayout(blobs: number, name = "example.com/many:1"): Map<string, Uint8Array> {
  const layers = Array.from(
    { length: blobs - 2 },
    (_, i) => described(rawTar([rawMember({ name: `f${i}`, body: `${i}\n` })]), mt.OCI_LAYER),
  );
  const config = described(
    enc.encode(JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.descriptor.digest) },
    })),
    mt.OCI_CONFIG,
  );
  const manifest = described(
    enc.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: mt.OCI_MANIFEST,
      config: config.descriptor,
      layers: layers.map((l) => l.descriptor),
    })),
    mt.OCI_MANIFEST,
  );
  return layoutFiles(
    [{ descriptor: manifest.descriptor, refName: name }],
    [manifest, config, ...layers],
  );
}

async function blobCount(store: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(`${store}/blobs/sha256`)) if (e.isFile) n++;
  return n;
}

for (const shape of ["an oci-archive", "a layout directory"] as const) {
  Deno.test(`import of ${shape} of ${BLOBS} blobs works under ulimit -n 256`, async () => {
    await withTempDir(async (dir) => {
      const files = manyBlobLayout(BLOBS);
      const input = `${dir}/input`;
      if (shape === "an oci-archive") await Deno.writeFile(input, await tarOfFiles(files));
      else await writeFiles(input, files);
      const store = `${dir}/store`;
      const r = await runDeno(cli, ["import", "--store", store, input], {
        shellPrefix: "ulimit -n 256",
      });
      assertEquals(r.code, 0, r.stderr.slice(0, 2000));
      assertMatch(r.stderr, new RegExp(`${BLOBS} added`));
      assertEquals(await blobCount(store), BLOBS);
      const check = await runDeno(cli, ["images", "check", "--quick", "--store", store], {
        shellPrefix: "ulimit -n 256",
      });
      assertEquals(check.code, 0, check.stdout.slice(0, 2000) + check.stderr.slice(0, 2000));
    });
  });
}

/**
 * Runs `args` in a child whose descriptors are all in use but `free`, after the same
 * command ran once on a copy of the store (so every module it needs is loaded: loading a
 * module with no descriptor left makes Deno 2.9 itself panic, before lading runs).
 */
async function withFreeDescriptors(free: number, store: string, warm: string, args: string[]) {
  return await runDeno(emfile, [String(free), warm, ...args, "--store", store], {
    shellPrefix: "ulimit -n 256",
  });
}

for (
  const [what, args] of [
    ["import of an oci-archive", ["import", "$W/image.tar"]],
    ["import of a layout directory", ["import", "$W/layout"]],
    ["gc", ["gc"]],
    ["images check", ["images", "check"]],
  ] as const
) {
  Deno.test(`EMFILE at any point of ${what}: one line, exit 1, the store as it was`, async () => {
    await withTempDir(async (dir) => {
      const files = manyBlobLayout(40);
      await Deno.writeFile(`${dir}/image.tar`, await tarOfFiles(files));
      await writeFiles(`${dir}/layout`, files);
      await Deno.writeFile(
        `${dir}/small.tar`,
        await tarOfFiles(manyBlobLayout(4, "example.com/small:1")),
      );
      // The store holds a small image; gc and check run on one that holds both.
      const argv = args.map((a) => a.replaceAll("$W", dir));
      const seed = `${dir}/seed`;
      for (const input of argv[0] === "import" ? ["small"] : ["small", "image"]) {
        const seeded = await runDeno(cli, ["import", "--store", seed, `${dir}/${input}.tar`]);
        assertEquals(seeded.code, 0, seeded.stderr);
      }
      let failures = 0;
      for (const free of [0, 1, 2, 3, 4, 5, 6, 8, 12]) {
        const store = `${dir}/store-${free}`;
        const warm = `${dir}/warm-${free}`;
        for (const copy of [store, warm]) {
          const cp = await new Deno.Command("cp", { args: ["-a", seed, copy] }).output();
          assert(cp.success);
        }
        const before = await snapshot(store);
        const r = await withFreeDescriptors(free, store, warm, argv);
        if (r.code === 0) continue; // enough descriptors for this command
        failures++;
        assertEquals(r.code, 1, `${free} free: exit ${r.code}, stderr: ${r.stderr.slice(0, 800)}`);
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        assertEquals(lines.length, 1, `${free} free: not one line:\n${r.stderr.slice(0, 2000)}`);
        assertMatch(lines[0], /^lading: .*(Too many open files|os error 24)/);
        assert(!/\bat .*:\d+:\d+/.test(r.stderr), `stack trace:\n${r.stderr}`);
        assertEquals(await snapshot(store), before, `${free} free: the store changed`);
      }
      assert(failures > 0, "no run ran out of descriptors: the test proves nothing");
    });
  });
}
