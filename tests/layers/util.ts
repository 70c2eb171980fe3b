/**
 * Helpers for the layer tests: a MemoryStore holding built images, resolved by name.
 * @module
 */
import { type ResolvedImage, resolveImage } from "../../src/image.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { writeBlob } from "../../src/store/blob.ts";
import type { BlobIngester, NameWriter } from "../../src/store/types.ts";
import { blobsOf, buildImage, type BuiltImage, type ImageSpec } from "../helpers/images.ts";
import { type RawMember, rawMember, rawTar } from "../helpers/tars.ts";

/** Puts every blob of `image` into `store` and names it. */
export async function putImage(
  store: BlobIngester & NameWriter,
  name: string,
  image: BuiltImage,
) {
  for (const b of blobsOf(image)) {
    await writeBlob(store, b.bytes, { digest: b.descriptor.digest, size: b.descriptor.size });
  }
  await store.putImages([{ name, target: image.manifest.descriptor }]);
}

/** Builds an image, stores it as `test:1`, resolves it. */
export async function storedImage(
  spec: ImageSpec,
): Promise<{ store: MemoryStore; image: ResolvedImage; built: BuiltImage }> {
  const store = new MemoryStore();
  const built = await buildImage(spec);
  await putImage(store, "test:1", built);
  return { store, image: await resolveImage(store, "test:1"), built };
}

/** A layer spec from raw members. */
export function rawLayer(
  members: (RawMember | Uint8Array)[],
  compression: "none" | "gzip" | "zstd" = "gzip",
) {
  return {
    files: [],
    rawTar: rawTar(members.map((m) => (m instanceof Uint8Array ? m : rawMember(m)))),
    compression,
  };
}

/** Collects a stream into a string. */
export async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

/** A stream of `bytes` in chunks of `size`. */
export function streamOf(bytes: Uint8Array, size = 65536): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.byteLength; i += size) c.enqueue(bytes.slice(i, i + size));
      c.close();
    },
  });
}
