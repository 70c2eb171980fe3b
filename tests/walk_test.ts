import { checkImages } from "../src/check.ts";
import { planExport } from "../src/export/mod.ts";
import { collectGarbage, reachableDigests } from "../src/gc.ts";
import { listImageSummaries } from "../src/image.ts";
import { importImages } from "../src/import/mod.ts";
import * as mt from "../src/media_types.ts";
import { writeBlob } from "../src/store/blob.ts";
import { MemoryStore } from "../src/store/memory.ts";
import type { Store } from "../src/store/types.ts";
import type { Descriptor } from "../src/types.ts";
import {
  blobPresence,
  childrenHandler,
  configPlatform,
  filterByPlatform,
  rootsReaching,
  walk,
  walkGraph,
} from "../src/walk.ts";
import { assert, assertEquals } from "./assert.ts";
import { buildImage, type BuiltBlob, jsonBlob, layoutFiles, tarOfFiles } from "./helpers/images.ts";

/** N manifests of one image (distinct by an annotation), an index X over them. */
async function fanIn(n: number) {
  const base = await buildImage({ layers: [{ files: [{ path: "f", content: "x" }] }] });
  const manifests: BuiltBlob[] = [];
  for (let i = 0; i < n; i++) {
    manifests.push(
      await jsonBlob({
        schemaVersion: 2,
        mediaType: mt.OCI_MANIFEST,
        config: base.config.descriptor,
        layers: base.layers.map((l) => l.descriptor),
        annotations: { n: String(i) },
      }, mt.OCI_MANIFEST),
    );
  }
  const index = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: manifests.map((m) => ({
      ...m.descriptor,
      platform: { os: "linux", architecture: "amd64" },
    })),
  }, mt.OCI_INDEX);
  return { leaves: [base.config, ...base.layers], manifests, index };
}

/** A store that counts every read, presence and size question asked of it. */
function counting(store: Store): { store: Store; calls: () => number } {
  let calls = 0;
  const counted = new Set(["has", "info", "reader", "readSmall"]);
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (counted.has(String(key))) calls++;
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, calls: () => calls };
}

const N = 120;

/** A store holding the fan-in with N names all pointing at the index. */
async function hostileStore() {
  const g = await fanIn(N);
  const store = new MemoryStore();
  for (const b of [...g.leaves, ...g.manifests, g.index]) {
    await writeBlob(store, b.bytes, b.descriptor);
  }
  await store.putImages(
    Array.from(
      { length: N },
      (_, i) => ({ name: `example.com/app:${i}`, target: g.index.descriptor }),
    ),
  );
  return { g, ...counting(store) };
}

// A quadratic walk asks about N² = 14,400 blobs here; a linear one a small multiple of N.
const LINEAR = 10 * N;

Deno.test("listImageSummaries() of N names pointing at one index of N manifests reads linearly", async () => {
  const { store, calls } = await hostileStore();
  const summaries = await listImageSummaries(store);
  assertEquals(summaries.length, N);
  const seventh = summaries.find((s) => s.name === "example.com/app:7");
  assertEquals(seventh?.platforms, ["linux/amd64"]);
  assert(calls() < LINEAR, `${calls()} store calls for ${N} names`);
});

Deno.test("checkImages() of N names pointing at one index of N manifests reads linearly", async () => {
  const { store, calls } = await hostileStore();
  const checks = await checkImages(store);
  assertEquals(checks.length, N);
  assert(checks.every((c) => c.ok && c.complete));
  assert(checks.some((c) => c.name === "example.com/app:3"));
  assert(calls() < LINEAR, `${calls()} store calls for ${N} names`);
});

Deno.test("collectGarbage() and reachableDigests() of N names on one index of N manifests read linearly", async () => {
  const { store, calls, g } = await hostileStore();
  const result = await collectGarbage(store, { dryRun: true });
  assertEquals(result.removed.length, 0);
  const gcCalls = calls();
  assert(gcCalls < LINEAR, `${gcCalls} store calls for ${N} names`);
  const reach = await reachableDigests(store);
  assertEquals(reach.get(g.manifests[5].descriptor.digest)?.length, N);
  assert(calls() - gcCalls < LINEAR, `${calls() - gcCalls} store calls for ${N} names`);
});

Deno.test("planExport() of an index whose N entries point at one index of N manifests reads linearly", async () => {
  const g = await fanIn(N);
  const outer = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: Array.from({ length: N }, () => g.index.descriptor),
  }, mt.OCI_INDEX);
  const inner = new MemoryStore();
  for (const b of [...g.leaves, ...g.manifests, g.index, outer]) {
    await writeBlob(inner, b.bytes, b.descriptor);
  }
  await inner.putImages([{ name: "example.com/app:1", target: outer.descriptor }]);
  const { store, calls } = counting(inner);
  const plan = await planExport(store, ["example.com/app:1"], {
    platforms: [{ os: "linux", architecture: "amd64" }],
  });
  assertEquals(plan.images.length, 1);
  assert(calls() < LINEAR, `${calls()} store calls`);
});

Deno.test("importImages() of an index.json with N entries pointing at one index of N manifests checks linearly", async () => {
  const g = await fanIn(N);
  const inner = new MemoryStore();
  // The manifests and their blobs are in the store already: the input holds only the
  // index, so every manifest the walk reaches is looked up in the store.
  for (const b of [...g.leaves, ...g.manifests]) await writeBlob(inner, b.bytes, b.descriptor);
  const entries = Array.from({ length: N }, (_, i) => ({
    descriptor: g.index.descriptor,
    refName: `v${i}`,
  }));
  const archive = await tarOfFiles(layoutFiles(entries, [g.index]));
  const { store, calls } = counting(inner);
  const result = await importImages(store, {
    kind: "stream",
    label: "hostile.tar",
    stream: new Blob([archive as BlobPart]).stream(),
  }, { baseName: "example.com/app" });
  assertEquals(result.images.length, N);
  assert(calls() < LINEAR, `${calls()} store calls for ${N} entries`);
});

Deno.test("the walk kit: children over a provider, a platform filter, presence and config platform", async () => {
  const amd = await buildImage({ layers: [{ files: [{ path: "a", content: "a" }] }] });
  const arm = await buildImage({
    platform: { os: "linux", architecture: "arm64" },
    layers: [{ files: [{ path: "b", content: "b" }] }],
  });
  const index = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_INDEX,
    manifests: [amd, arm].map((i) => ({ ...i.manifest.descriptor, platform: i.platform })),
  }, mt.OCI_INDEX);
  const store = new MemoryStore();
  for (const b of [index, amd.manifest, amd.config, ...amd.layers, arm.manifest]) {
    await writeBlob(store, b.bytes, b.descriptor);
  }
  const seen: Descriptor[] = [];
  const children = filterByPlatform(childrenHandler(store), [{
    os: "linux",
    architecture: "arm64",
  }]);
  await walk([index.descriptor], async (d, context) => {
    seen.push(d);
    return await children(d, context);
  });
  // The amd64 manifest is filtered out; the arm64 config and layer are absent from the
  // store but still reached (presence is the handler's question, not the walk's).
  assertEquals(seen.map((d) => d.digest), [
    index.descriptor.digest,
    arm.manifest.descriptor.digest,
    arm.config.descriptor.digest,
    arm.layers[0].descriptor.digest,
  ]);
  assertEquals(await blobPresence(store, amd.config.descriptor), "present");
  assertEquals(await blobPresence(store, arm.config.descriptor), "missing");
  assertEquals(await blobPresence(store, { ...amd.config.descriptor, size: 1 }), {
    size: amd.config.descriptor.size,
  });
  assertEquals(
    configPlatform({
      os: "linux",
      architecture: "arm",
      variant: "v7",
      "os.version": "1",
      rootfs: { type: "layers", diff_ids: [] },
    }),
    { os: "linux", architecture: "arm", variant: "v7", "os.version": "1" },
  );
});

Deno.test("reachableDigests() of N names on N indexes sharing one index of N manifests lists every name and reads linearly", async () => {
  const g = await fanIn(N);
  const inner = new MemoryStore();
  for (const b of [...g.leaves, ...g.manifests, g.index]) {
    await writeBlob(inner, b.bytes, b.descriptor);
  }
  for (let i = 0; i < N; i++) {
    const outer = await jsonBlob({
      schemaVersion: 2,
      mediaType: mt.OCI_INDEX,
      manifests: [g.index.descriptor],
      annotations: { n: String(i) },
    }, mt.OCI_INDEX);
    await writeBlob(inner, outer.bytes, outer.descriptor);
    await inner.putImages([{ name: `example.com/app:${i}`, target: outer.descriptor }]);
  }
  const { store, calls } = counting(inner);
  const reach = await reachableDigests(store);
  // Every name reaches the shared manifests, in the order of the names.
  const names = reach.get(g.manifests[7].descriptor.digest)!;
  assertEquals(names.length, N);
  assertEquals(new Set(names).size, N);
  assert(calls() < LINEAR, `${calls()} store calls for ${N} names`);
});

Deno.test("walkGraph() visits a shared child once and rootsReaching() gives it every root that reaches it, in root order", async () => {
  const leaf: Descriptor = { mediaType: "x/leaf", digest: `sha256:${"1".repeat(64)}`, size: 1 };
  const mid: Descriptor = { mediaType: "x/mid", digest: `sha256:${"2".repeat(64)}`, size: 1 };
  const a: Descriptor = { mediaType: "x/a", digest: `sha256:${"a".repeat(64)}`, size: 1 };
  const b: Descriptor = { mediaType: "x/b", digest: `sha256:${"b".repeat(64)}`, size: 1 };
  const c: Descriptor = { mediaType: "x/c", digest: `sha256:${"c".repeat(64)}`, size: 1 };
  const edges = new Map<string, Descriptor[]>([
    [a.digest, [mid]],
    [b.digest, [mid, leaf]],
    [c.digest, []],
    [mid.digest, [leaf]],
  ]);
  const visits: string[] = [];
  const graph = await walkGraph([a, b, c], (d) => {
    visits.push(d.digest);
    return Promise.resolve(edges.get(d.digest) ?? []);
  });
  assertEquals(visits.length, 5, "each descriptor visited once");
  assertEquals(graph.nodes.get(b.digest)?.children, [mid.digest, leaf.digest]);
  const reaching = rootsReaching(graph, [a.digest, b.digest, c.digest]);
  assertEquals(reaching.get(leaf.digest), [0, 1]);
  assertEquals(reaching.get(mid.digest), [0, 1]);
  assertEquals(reaching.get(b.digest), [1]);
  assertEquals(reaching.get(c.digest), [2]);
});
