import { InvalidInputError, LimitExceededError } from "../../src/errors.ts";
import { detectCompression, openLayer } from "../../src/layers/layer_reader.ts";
import * as mt from "../../src/media_types.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { buildImage, compress, tarOf } from "../helpers/images.ts";
import { rawMember, rawTar } from "../helpers/tars.ts";
import { streamOf, text } from "./util.ts";

const files = [
  { path: "./", type: "directory" as const },
  { path: "./etc/", type: "directory" as const },
  { path: "./etc/hostname", content: "lading\n" },
  { path: "/abs/file", content: "abs" },
  { path: "etc/.wh.old", content: "" },
  { path: "var/.wh..wh..opq", content: "" },
];

for (const compression of ["none", "gzip", "zstd"] as const) {
  Deno.test(`openLayer() reads a ${compression} layer, normalizes paths and computes the diff_id`, async () => {
    const image = await buildImage({ layers: [{ files, compression }] });
    const layer = await openLayer(streamOf(image.layers[0].bytes, 100), {
      mediaType: image.layers[0].descriptor.mediaType,
    });
    const seen: [string, string, string | undefined][] = [];
    for await (const e of layer) {
      seen.push([e.path, e.type, e.whiteout?.kind]);
      if (e.path === "etc/hostname") assertEquals(await text(e.body()), "lading\n");
    }
    assertEquals(seen, [
      [".", "directory", undefined],
      ["etc", "directory", undefined],
      ["etc/hostname", "file", undefined],
      ["abs/file", "file", undefined],
      ["etc/.wh.old", "file", "whiteout"],
      ["var/.wh..wh..opq", "file", "opaque"],
    ]);
    const stats = await layer.finish();
    assertEquals(stats.diffId, image.diffIds[0]);
    assertEquals(stats.compression, compression);
    assertEquals(stats.compressedSize, image.layers[0].bytes.byteLength);
    assertEquals(stats.uncompressedSize, image.tars[0].byteLength);
    assertEquals(stats.entries, 6);
  });
}

Deno.test("openLayer() reads multi-member gzip", async () => {
  const tar = await tarOf([{ path: "a", content: "a".repeat(5000) }, { path: "b", content: "b" }]);
  const one = await compress(tar.slice(0, 1000), "gzip");
  const two = await compress(tar.slice(1000), "gzip");
  const both = new Uint8Array(one.byteLength + two.byteLength);
  both.set(one);
  both.set(two, one.byteLength);
  const layer = await openLayer(streamOf(both, 33));
  const names: string[] = [];
  for await (const e of layer) names.push(e.path);
  assertEquals(names, ["a", "b"]);
  assertEquals((await layer.finish()).uncompressedSize, tar.byteLength);
});

Deno.test("openLayer() trusts the bytes over the media type and warns", async () => {
  const tar = await tarOf([{ path: "a", content: "a" }]);
  for (
    const [bytes, mediaType, says] of [
      [tar, mt.OCI_LAYER_GZIP, "an uncompressed tar"],
      [await compress(tar, "zstd"), mt.OCI_LAYER_GZIP, "zstd"],
      [await compress(tar, "gzip"), mt.OCI_LAYER, "gzip"],
    ] as const
  ) {
    const warnings: string[] = [];
    const layer = await openLayer(streamOf(bytes), {
      mediaType,
      onWarning: (w) => warnings.push(w),
    });
    const names: string[] = [];
    for await (const e of layer) names.push(e.path);
    assertEquals(names, ["a"]);
    assertEquals(warnings.length, 1);
    assert(warnings[0].includes(says), warnings[0]);
  }
});

Deno.test("detectCompression() knows gzip, zstd and everything else", () => {
  assertEquals(detectCompression(new Uint8Array([0x1f, 0x8b, 8])), "gzip");
  assertEquals(detectCompression(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd])), "zstd");
  assertEquals(detectCompression(new Uint8Array([0x61])), "none");
  assertEquals(detectCompression(new Uint8Array(0)), "none");
});

Deno.test("openLayer() stops a gzip bomb at the output cap with a clear error", async () => {
  const tar = await tarOf([{ path: "zeros", content: new Uint8Array(8 * 1024 * 1024) }]);
  const bomb = await compress(tar, "gzip");
  assert(bomb.byteLength < 64 * 1024);
  const layer = await openLayer(streamOf(bomb), { maxLayerBytes: 1024 * 1024, what: "layer 0" });
  const e = await assertRejects(async () => {
    for await (const entry of layer) for await (const _ of entry.chunks()) { /* read */ }
  }, LimitExceededError);
  assert(e.message.includes("layer 0 expands to more than 1048576 bytes"), e.message);
});

Deno.test("openLayer() reports corrupt gzip as invalid input", async () => {
  const gz = await compress(await tarOf([{ path: "a", content: "x".repeat(10000) }]), "gzip");
  gz[20] ^= 0xff;
  gz[21] ^= 0xff;
  const layer = await openLayer(streamOf(gz), { what: "layer 3" });
  await assertRejects(async () => {
    for await (const e of layer) for await (const _ of e.chunks()) { /* read */ }
    await layer.finish();
  }, InvalidInputError);
});

Deno.test("openLayer() refuses '..' members and bad whiteouts", async () => {
  for (const name of ["../escape", "a/../../b", "a/../b", "x/.wh.", "x/.wh..", "x/.wh..."]) {
    const layer = await openLayer(streamOf(rawTar([rawMember({ name })])));
    await assertRejects(async () => {
      for await (const _ of layer) { /* read */ }
    }, InvalidInputError);
  }
});

Deno.test("LayerEntry.body() cannot be read after moving on", async () => {
  const layer = await openLayer(
    streamOf(await tarOf([{ path: "a", content: "aaa" }, { path: "b", content: "bbb" }])),
  );
  const a = (await layer.next())!;
  const b = (await layer.next())!;
  assertEquals(b.path, "b");
  await assertRejects(() => text(a.body()), TypeError);
  assertEquals(await text(b.body()), "bbb");
});
