import { DigestMismatchError, NotFoundError, SizeMismatchError } from "../../src/errors.ts";
import { writeArchiveFile } from "../../src/deno/export_file.ts";
import { planExport } from "../../src/export/mod.ts";
import { openFsStore } from "../../src/store/fs.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { blobsOf, buildImage, layoutFiles, tarOfFiles } from "../helpers/images.ts";
import { collect, importBytes, singleArchive, withTempDir } from "../export/_support.ts";

const NAME = "example.com/big:1";

/** An fs store holding one image with a 3 MiB + 5 byte uncompressed layer. */
async function bigStore(dir: string) {
  const noise = new Uint8Array(3 * 1024 * 1024 + 5);
  for (let i = 0; i < noise.length; i += 65536) {
    crypto.getRandomValues(noise.subarray(i, Math.min(noise.length, i + 65536)));
  }
  const image = await buildImage({
    layers: [{ files: [{ path: "noise", content: noise }], compression: "none" }],
  });
  const files = layoutFiles(
    [{ descriptor: image.manifest.descriptor, refName: NAME }],
    blobsOf(image),
  );
  const store = await openFsStore(`${dir}/store`);
  await importBytes(store, await tarOfFiles(files));
  const layer = image.layers[0].descriptor;
  return { store, layer, layerPath: `${dir}/store/blobs/sha256/${layer.digest.slice(7)}` };
}

async function toFile(path: string, write: (file: Deno.FsFile) => Promise<void>) {
  await write(await Deno.open(path, { write: true, createNew: true }));
  return await Deno.readFile(path);
}

Deno.test("writeArchiveFile() writes the same bytes as the stream, with progress, also verifying", async () => {
  await withTempDir(async (dir) => {
    const { store } = await bigStore(dir);
    for (const verify of [false, true]) {
      const plan = await planExport(store, [NAME], { verify });
      const streamed = await collect(plan.stream());
      const seen: number[] = [];
      const written = await toFile(
        `${dir}/out-${verify}.tar`,
        (file) => writeArchiveFile(store, plan, { file, onProgress: (n) => seen.push(n) }),
      );
      assertEquals(written, streamed);
      assertEquals(written.byteLength, plan.size);
      assertEquals(seen.at(-1), plan.size);
      assertEquals([...seen].sort((a, b) => a - b), seen);
    }
  });
});

Deno.test("writeArchiveFile() falls back to the stream for other stores and for gzip", async () => {
  await withTempDir(async (dir) => {
    const memory = new MemoryStore();
    await importBytes(memory, (await singleArchive("example.com/single:1")).bytes);
    const plan = await planExport(memory, ["example.com/single:1"]);
    assertEquals(
      await toFile(`${dir}/m.tar`, (f) => writeArchiveFile(memory, plan, { file: f })),
      await collect(plan.stream()),
    );
    const { store } = await bigStore(dir);
    const gz = await planExport(store, [NAME], { gzip: true });
    const plain = await collect(
      (await Deno.open(`${dir}/g.tar.gz`, { write: true, createNew: true }).then(async (f) => {
        await writeArchiveFile(store, gz, { file: f });
        return (await Deno.open(`${dir}/g.tar.gz`)).readable;
      })).pipeThrough(
        new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
      ),
    );
    assertEquals(plain, await collect((await planExport(store, [NAME])).stream()));
  });
});

Deno.test("writeArchiveFile() fails on a blob that shrank, grew, changed or vanished after planning, and closes the file", async () => {
  await withTempDir(async (dir) => {
    const { store, layer, layerPath } = await bigStore(dir);
    const original = await Deno.readFile(layerPath);
    await Deno.chmod(layerPath, 0o644);
    // deno-lint-ignore no-explicit-any
    const cases: [string, () => Promise<void>, new (...a: any[]) => Error, boolean][] = [
      ["shrank", () => Deno.writeFile(layerPath, original.subarray(1)), SizeMismatchError, false],
      [
        "grew",
        () => Deno.writeFile(layerPath, new Uint8Array([...original, 1])),
        SizeMismatchError,
        false,
      ],
      [
        "changed",
        async () => {
          const bytes = original.slice();
          bytes[bytes.length - 1] ^= 0xff;
          await Deno.writeFile(layerPath, bytes);
        },
        DigestMismatchError,
        true,
      ],
      ["vanished", () => Deno.remove(layerPath), NotFoundError, false],
    ];
    for (const [label, change, error, verify] of cases) {
      await Deno.writeFile(layerPath, original);
      const plan = await planExport(store, [NAME], { verify });
      await change();
      const file = await Deno.open(`${dir}/${label}.tar`, { write: true, createNew: true });
      await assertRejects(() => writeArchiveFile(store, plan, { file }), error, layer.digest);
      // Closed: another close throws.
      assertThrows(() => file.close(), Deno.errors.BadResource);
    }
  });
});

Deno.test("writeArchiveFile() notices a blob that grows while it is copied (reads stop one byte past the size)", async () => {
  await withTempDir(async (dir) => {
    const { store, layer, layerPath } = await bigStore(dir);
    const plan = await planExport(store, [NAME]);
    await Deno.chmod(layerPath, 0o644);
    const appender = await Deno.open(layerPath, { append: true });
    let grown = false;
    const file = await Deno.open(`${dir}/x.tar`, { write: true, createNew: true });
    await assertRejects(
      () =>
        writeArchiveFile(store, plan, {
          file,
          onProgress: (n) => {
            if (!grown && n > 1024 * 1024) {
              grown = true;
              appender.writeSync(new Uint8Array(7));
            }
          },
        }),
      SizeMismatchError,
      `more than ${layer.size}`,
    );
    appender.close();
  });
});
