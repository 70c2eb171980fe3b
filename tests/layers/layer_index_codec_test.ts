import type { CachedLayer, LayerIndexCache } from "../../src/layers/image_layers.ts";
import { readImageLayers } from "../../src/layers/image_layers.ts";
import {
  decodeLayerIndex,
  encodeLayerIndex,
  indexLayer,
} from "../../src/layers/layer_index_codec.ts";
import { assert, assertEquals } from "../assert.ts";
import { buildImage } from "../helpers/images.ts";
import { paxMember, rawMember } from "../helpers/tars.ts";
import { rawLayer, storedImage } from "./util.ts";
import { streamOf } from "./util.ts";

const members = [
  rawMember({ name: "./etc/", type: "5", mode: 0o755 }),
  rawMember({ name: "./etc/passwd", body: "root:x:0:0\n", uname: "root", gname: "wheel" }),
  rawMember({ name: "./bin/sh", type: "2", linkname: "busybox", uname: "app", gname: "app" }),
  rawMember({ name: "./dev/null", type: "3", devmajor: 1, devminor: 3, mode: 0o666 }),
  paxMember({ "SCHILY.xattr.security.capability": new Uint8Array([1, 0, 0, 2, 0xff, 0]) }),
  rawMember({ name: "./usr/bin/su", body: "x", mode: 0o4755, uid: 0, mtime: 1700000000 }),
  rawMember({ name: "./etc/.wh.old", body: "" }),
  rawMember({ name: "./var/.wh..wh..opq", body: "" }),
];

async function indexed() {
  const image = await buildImage({ layers: [rawLayer(members)] });
  const layer = image.layers[0];
  const index = await indexLayer(streamOf(layer.bytes, 100), {
    mediaType: layer.descriptor.mediaType,
  });
  return { layer: layer.descriptor, index };
}

Deno.test("indexLayer() keeps every member's header, counts files and whiteouts, hashes nothing", async () => {
  const { index } = await indexed();
  assertEquals(index.entries.map((e) => [e.path, e.type, e.whiteout?.kind]), [
    ["etc", "directory", undefined],
    ["etc/passwd", "file", undefined],
    ["bin/sh", "symlink", undefined],
    ["dev/null", "character-device", undefined],
    ["usr/bin/su", "file", undefined],
    ["etc/.wh.old", "file", "whiteout"],
    ["var/.wh..wh..opq", "file", "opaque"],
  ]);
  assertEquals([index.files, index.whiteouts, index.stats.entries], [2, 2, 7]);
  assertEquals(index.stats.diffId, undefined);
  assertEquals(index.stats.compression, "gzip");
  assertEquals(
    index.entries[4].xattrs?.["security.capability"],
    new Uint8Array([1, 0, 0, 2, 255, 0]),
  );
});

Deno.test("a layer index survives encoding: every field, owners, links, devices, whiteouts", async () => {
  const { layer, index } = await indexed();
  const back = decodeLayerIndex(encodeLayerIndex(layer, index), layer);
  assertEquals(back, index);
});

Deno.test("an index of another blob, another version or broken bytes is a miss", async () => {
  const { layer, index } = await indexed();
  const bytes = encodeLayerIndex(layer, index);
  assertEquals(decodeLayerIndex(bytes, { ...layer, size: layer.size + 1 }), undefined);
  assertEquals(
    decodeLayerIndex(bytes, { ...layer, digest: `sha256:${"0".repeat(64)}` }),
    undefined,
  );
  assertEquals(decodeLayerIndex(bytes.subarray(0, bytes.length - 10), layer), undefined);
  const doc = JSON.parse(new TextDecoder().decode(bytes));
  assertEquals(
    decodeLayerIndex(new TextEncoder().encode(JSON.stringify({ ...doc, v: 1 })), layer),
    undefined,
  );
  // A column that lost a member, or a path that escapes the root.
  doc.mode.pop();
  assertEquals(decodeLayerIndex(new TextEncoder().encode(JSON.stringify(doc)), layer), undefined);
  doc.mode.push(0);
  doc.name[1] = "../../etc/passwd";
  assertEquals(decodeLayerIndex(new TextEncoder().encode(JSON.stringify(doc)), layer), undefined);
});

Deno.test("readImageLayers() keeps and replays an index made without hashing only for reads that hash nothing", async () => {
  const { store, image } = await storedImage({ layers: [rawLayer(members)] });
  const kept = new Map<string, CachedLayer>();
  let gets = 0;
  const cache: LayerIndexCache = {
    get: (d) => {
      gets++;
      return Promise.resolve(kept.get(d.digest));
    },
    put: (d, index) => Promise.resolve(void kept.set(d.digest, index)),
  };
  const paths = async (hash: boolean) => {
    const seen: string[] = [];
    const [summary] = await readImageLayers(store, image, {
      onEntry: (_, e) => void seen.push(e.path),
      hash,
      layerIndex: cache,
    });
    return { seen, summary };
  };
  const first = await paths(false);
  assertEquals(kept.size, 1);
  assertEquals(first.summary.diffId, undefined);
  // Replayed: the blob is not read (a reader that throws proves it).
  const reader = store.reader.bind(store);
  store.reader = () => Promise.reject(new Error("the blob was read"));
  const again = await paths(false);
  assertEquals(again.seen, first.seen);
  assertEquals(gets, 2);
  // A read that verifies diff_ids cannot use it: it reads the blob.
  store.reader = reader;
  const hashed = await paths(true);
  assertEquals(hashed.seen, first.seen);
  assert(hashed.summary.verified);
});
