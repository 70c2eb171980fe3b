/**
 * The page's import with layer indexing (web-demo/import_indexed.ts), run in Deno with the
 * indexing done in this thread: every layer blob is indexed from the bytes on their way to
 * the store — the same index as one read back from the store — a feed nobody reads is
 * dropped when full (the layer is then read from the store), an aborted write's feed fails,
 * and wrong bytes are still refused with nothing stored and no index kept.
 */
import { importImages } from "../../src/import/mod.ts";
import { DigestMismatchError } from "../../src/errors.ts";
import type { DirectorySource } from "../../src/import/source.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Descriptor } from "../../src/types.ts";
import { IndexerPool, indexHere } from "../../web-demo/indexer_pool.ts";
import {
  FEED_BYTES,
  importIndexed,
  LiveFeed,
  observedStore,
} from "../../web-demo/import_indexed.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { blobsOf, buildImage, layoutFiles, tarOfFiles } from "../helpers/images.ts";
import { tarSource } from "../import/_support.ts";

/** A pool whose workers cannot start: every layer is indexed in this thread. */
const inThisThread = () =>
  new IndexerPool(2, () => {
    throw new Error("no workers in this test");
  });

/** A MemoryStore with the layer index role the page's stores have. */
function indexedStore() {
  const kept = new Map<string, Uint8Array>();
  /** Blobs read back from the store (the indexing reads none). */
  const reads: string[] = [];
  const memory = new MemoryStore();
  const reader = memory.reader.bind(memory);
  memory.reader = (digest, options) => {
    reads.push(digest);
    return reader(digest, options);
  };
  const store = Object.assign(memory, {
    layerIndex: {
      putEncoded: (layer: Descriptor, bytes: Uint8Array) => {
        kept.set(layer.digest, bytes);
        return Promise.resolve(undefined);
      },
    },
  });
  return { store, kept, reads };
}

async function twoLayerImage() {
  return await buildImage({
    layers: [
      { files: [{ path: "etc/a.txt", content: "gzip layer\n".repeat(2000) }] },
      {
        files: [{ path: "b.txt", content: "plain layer\n".repeat(3000) }],
        compression: "none",
      },
    ],
  });
}

function layoutOf(image: Awaited<ReturnType<typeof twoLayerImage>>) {
  return layoutFiles(
    [{ descriptor: image.manifest.descriptor, refName: "example.com/indexed:1" }],
    blobsOf(image),
  );
}

/** A layout folder in memory, as the page's picked files are. */
function folderOf(files: Map<string, Uint8Array>): DirectorySource {
  return {
    kind: "directory",
    label: "picked",
    stat: (p) => Promise.resolve(files.has(p) ? { size: files.get(p)!.byteLength } : undefined),
    open: (p) => Promise.resolve(new Blob([files.get(p)! as BlobPart]).stream()),
  };
}

Deno.test("importIndexed() keeps, for every layer it stored, the index a read from the store gives, without reading it back", async () => {
  const image = await twoLayerImage();
  for (
    const source of [
      tarSource(await tarOfFiles(layoutOf(image))),
      folderOf(layoutOf(image)),
    ]
  ) {
    const { store, kept, reads } = indexedStore();
    const pool = inThisThread();
    try {
      const r = await importIndexed(store, source, pool);
      assertEquals(r.blobs.added, 4);
      assertEquals(reads, [], "a layer was read back from the store to be indexed");
      assertEquals([...kept.keys()].sort(), image.layers.map((l) => l.descriptor.digest).sort());
      for (const layer of image.layers) {
        const d = { mediaType: "", digest: layer.descriptor.digest, size: layer.descriptor.size };
        const fromStore = await indexHere(d, await store.reader(d.digest));
        assertEquals(
          new TextDecoder().decode(kept.get(d.digest)),
          new TextDecoder().decode(fromStore),
        );
      }
    } finally {
      pool.close();
    }
  }
});

Deno.test("importIndexed() of a layout folder with a wrong layer file refuses it, stores nothing and keeps no index", async () => {
  const image = await twoLayerImage();
  const files = layoutOf(image);
  const path = `blobs/sha256/${image.layers[1].descriptor.digest.slice(7)}`;
  const bad = files.get(path)!.slice();
  bad[100] ^= 0x20;
  files.set(path, bad);
  const { store, kept } = indexedStore();
  const pool = inThisThread();
  try {
    await assertRejects(
      () => importIndexed(store, folderOf(files), pool),
      DigestMismatchError,
      path,
    );
    assertEquals(kept.size, 0);
    const left: string[] = [];
    for await (const b of store.list()) left.push(b.digest);
    assertEquals(left, []);
    assertEquals(await store.listImages(), []);
  } finally {
    pool.close();
  }
});

Deno.test("a live feed nobody reads yet is dropped when full, and the writes go on", async () => {
  const feed = new LiveFeed();
  assert(await feed.push(new Uint8Array(FEED_BYTES - 1)));
  assertEquals(await feed.push(new Uint8Array(2)), false);
  assert(feed.dropped);
  assertEquals(await feed.push(new Uint8Array(1)), false);
});

Deno.test("a live feed a reader takes makes writes wait for room instead, and ends with every byte in order", async () => {
  const feed = new LiveFeed();
  feed.started = true;
  const chunks = [FEED_BYTES, 5, FEED_BYTES / 2].map((n, i) => new Uint8Array(n).fill(i + 1));
  const writes = (async () => {
    for (const c of chunks) assert(await feed.push(c));
    feed.close();
  })();
  const got = new Uint8Array(await new Response(feed.stream).arrayBuffer());
  await writes;
  assertEquals(got.byteLength, FEED_BYTES * 1.5 + 5);
  assertEquals([got[0], got[FEED_BYTES], got[FEED_BYTES + 5]], [1, 2, 3]);
  assert(!feed.dropped);
});

Deno.test("observedStore() feeds a layer write to its index and fails the feed of an aborted write", async () => {
  const image = await twoLayerImage();
  const layer = image.layers[0];
  const feeds: LiveFeed[] = [];
  const committed: Descriptor[] = [];
  const store = observedStore(new MemoryStore(), {
    onLayerWrite: (feed) => {
      feeds.push(feed);
      feed.started = true;
      return (d) => {
        committed.push(d);
        return true;
      };
    },
  });
  const w = await store.writer();
  await w.write(layer.bytes);
  assertEquals(feeds.length, 1);
  const bytes = new Response(feeds[0].stream).arrayBuffer();
  await w.commit({ digest: layer.descriptor.digest, size: layer.descriptor.size });
  assertEquals(new Uint8Array(await bytes), layer.bytes);
  assertEquals(committed, [{
    mediaType: "",
    digest: layer.descriptor.digest,
    size: layer.bytes.byteLength,
  }]);
  // Not a layer: no feed.
  const json = await store.writer();
  await json.write(new TextEncoder().encode("{}"));
  await json.abort();
  assertEquals(feeds.length, 1);
  // An aborted layer write: its feed fails.
  const aborted = await store.writer();
  await aborted.write(layer.bytes);
  const failing = new Response(feeds[1].stream).arrayBuffer();
  await aborted.abort();
  await assertRejects(() => failing);
});

Deno.test("importImages() through observedStore() without indexing imports as the store itself does", async () => {
  const image = await twoLayerImage();
  const store = observedStore(new MemoryStore(), {});
  const r = await importImages(store, tarSource(await tarOfFiles(layoutOf(image))));
  assertEquals(r.blobs.added, 4);
});
