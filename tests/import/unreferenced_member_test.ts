/**
 * A tar member at a path where image archives do not keep content (nothing references it,
 * unless a docker archive's manifest.json names it) is staged only under a cap
 * (MAX_UNKNOWN_BYTES, 256 MiB in all): a 300 MiB one is hashed and dropped, never written
 * to the store's ingest; a docker layer at such a path past the cap is refused with a way
 * out. The inputs are generated as streams (nothing this big is held in memory).
 */
import { createHash } from "node:crypto";
import { LimitExceededError } from "../../src/errors.ts";
import { importImages } from "../../src/import/mod.ts";
import { MAX_UNKNOWN_BYTES } from "../../src/import/staging.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { BlobWriter } from "../../src/store/types.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { blobsOf, buildImage, layoutFiles } from "../helpers/images.ts";
import { rawMember } from "../helpers/tars.ts";

const MIB = 1024 * 1024;
const enc = new TextEncoder();

/** A member of `size` zero bytes, as chunks (header, zeros, padding). */
function* zeroMember(name: string, size: number): Generator<Uint8Array> {
  yield rawMember({ name, size, body: new Uint8Array(0) }).subarray(0, 512);
  const zeros = new Uint8Array(MIB);
  for (let left = size; left > 0; left -= MIB) yield zeros.subarray(0, Math.min(MIB, left));
  if (size % 512) yield new Uint8Array(512 - (size % 512));
}

/** A tar stream of these parts (members as chunks), with its end marker. */
function tarStream(parts: Iterable<Uint8Array>[]): ReadableStream<Uint8Array> {
  const all = (function* () {
    for (const p of parts) yield* p;
    yield new Uint8Array(1024);
  })();
  return new ReadableStream({
    pull(controller) {
      const next = all.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
  });
}

/** A MemoryStore that counts the bytes its writers receive. */
function countingStore(): { store: MemoryStore; written: () => number } {
  const store = new MemoryStore();
  let written = 0;
  const writer = store.writer.bind(store);
  store.writer = async (): Promise<BlobWriter> => {
    const w = await writer();
    const write = w.write.bind(w);
    w.write = (chunk) => {
      written += chunk.byteLength;
      return write(chunk);
    };
    return w;
  };
  return { store, written: () => written };
}

Deno.test("a 300 MiB member nothing references is hashed and dropped: the store's writers receive only the image", async () => {
  const image = await buildImage({ layers: [{ files: [{ path: "a", content: "a\n" }] }] });
  const files = layoutFiles(
    [{ descriptor: image.manifest.descriptor, refName: "example.com/junk:1" }],
    blobsOf(image),
  );
  const members = [...files].map(([name, body]) => [rawMember({ name, body })]);
  const { store, written } = countingStore();
  const result = await importImages(store, tarStream([zeroMember("junk", 300 * MIB), ...members]));
  assertEquals(result.images.map((i) => i.name), ["example.com/junk:1"]);
  const imageBytes = [...files.values()].reduce((n, b) => n + b.byteLength, 0);
  assert(written() <= imageBytes, `${written()} bytes written, the image has ${imageBytes}`);
});

Deno.test("a docker layer at a path no archive uses, past the cap, is refused with a way out (import the folder)", async () => {
  const size = MAX_UNKNOWN_BYTES + MIB;
  const hash = createHash("sha256");
  const zeros = new Uint8Array(MIB);
  for (let left = size; left > 0; left -= MIB) hash.update(zeros.subarray(0, Math.min(MIB, left)));
  const diffId = `sha256:${hash.digest("hex")}`;
  const config = enc.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [diffId] },
  }));
  const manifest = enc.encode(JSON.stringify([{
    Config: "config.json",
    RepoTags: ["example.com/odd:1"],
    Layers: ["odd/place"],
  }]));
  const error = await assertRejects(
    () =>
      importImages(
        new MemoryStore(),
        tarStream([
          zeroMember("odd/place", size),
          [rawMember({ name: "config.json", body: config })],
          [rawMember({ name: "manifest.json", body: manifest })],
        ]),
      ),
    LimitExceededError,
  );
  assertStringIncludes(error.message, "odd/place");
  assertStringIncludes(error.message, "import the folder");
});
