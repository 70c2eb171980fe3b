/**
 * The short soak (CI size): SIGKILLed imports of every input shape, concurrent importers
 * with `images rm` and `gc` looping, then the audit, `images check`, `content verify` and
 * skopeo — 0 corrupt blobs, 0 visible partial blobs, 0 named broken images, every retry
 * and every command succeeded. The full size is `deno task soak` (tests/soak/soak.ts).
 *
 * The audit the soak relies on is tested first: planted faults are found.
 * @module
 */
import { appendLayer, emptyImage, writeImage } from "../../mod.ts";
import { openFsStore } from "../../src/fs.ts";
import { assert, assertEquals } from "../assert.ts";
import { auditStore } from "./_audit.ts";
import { formatReport, runSoak } from "./soak.ts";

async function storeWithTwoImages(dir: string) {
  const store = await openFsStore(dir);
  try {
    const shared = await appendLayer(store, emptyImage(), {
      files: [{ path: "base/file", content: "base ".repeat(1000) }],
    });
    const a = await appendLayer(store, shared, { files: [{ path: "a", content: "a" }] });
    const b = await appendLayer(store, shared, { files: [{ path: "b", content: "b" }] });
    await writeImage(store, a, { name: "example.com/a:1" });
    await writeImage(store, b, { name: "example.com/b:1" });
    return { base: shared.layers[0], a: a.layers[1], b: b.layers[1] };
  } finally {
    await store.close();
  }
}

const path = (dir: string, digest: string) => `${dir}/blobs/sha256/${digest.slice(7)}`;

Deno.test("the soak's audit passes a sound store and finds every planted fault", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lading-soak-audit-" });
  try {
    const layers = await storeWithTwoImages(dir);
    const sound = await auditStore(dir);
    assertEquals(sound.names, ["example.com/a:1", "example.com/b:1"]);
    assertEquals([sound.corrupt, sound.partial, sound.broken], [[], [], []]);

    // A flipped byte (same size): corrupt, and both names that reach it are broken.
    const base = path(dir, layers.base.digest);
    await Deno.chmod(base, 0o644);
    const bytes = await Deno.readFile(base);
    bytes[10] ^= 1;
    await Deno.writeFile(base, bytes);
    let a = await auditStore(dir, new Map([[layers.base.digest, layers.base.size]]));
    assertEquals(a.corrupt.map((f) => f.what), [`blobs/sha256/${layers.base.digest.slice(7)}`]);
    assertEquals(a.partial, []);
    assertEquals(a.broken.map((f) => f.what), ["example.com/a:1", "example.com/b:1"]);
    await Deno.writeFile(base, bytes.map((x, i) => (i === 10 ? x ^ 1 : x)));

    // A truncated blob: partial (its size is known) and corrupt; a temporary file; a FIFO.
    const top = path(dir, layers.a.digest);
    await Deno.chmod(top, 0o644);
    await Deno.truncate(top, layers.a.size - 1);
    await Deno.writeFile(`${dir}/blobs/sha256/${"0".repeat(64)}.tmp-1`, new Uint8Array(3));
    a = await auditStore(dir, new Map([[layers.a.digest, layers.a.size]]));
    assertEquals(a.partial.length, 2);
    assertEquals(a.corrupt.length, 1);
    assertEquals(a.broken.map((f) => f.what), ["example.com/a:1"]);

    // A missing blob breaks the name that reaches it; an unreadable index.json is broken.
    await Deno.remove(path(dir, layers.b.digest));
    a = await auditStore(dir);
    assertEquals(a.broken.map((f) => f.what), ["example.com/a:1", "example.com/b:1"]);
    await Deno.writeTextFile(`${dir}/index.json`, '{"manifests": [');
    a = await auditStore(dir);
    assertEquals(a.broken.map((f) => f.what), ["index.json"]);

    // Files in ingest/ or leases/ are counted.
    await Deno.writeFile(`${dir}/ingest/x`, new Uint8Array(1));
    assertEquals((await auditStore(dir)).leftovers, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the short soak: 20 SIGKILLed imports (tar, gzip, docker, directory) and 8 importers × 3 rounds with images rm and gc leave 0 corrupt, 0 partial blobs, 0 broken names, and every retry succeeds", async () => {
  const report = await runSoak({
    kills: 20,
    rounds: 3,
    importers: 8,
    size: 2_000_000,
    seed: 11,
    log: Deno.env.get("SOAK_VERBOSE") ? (l) => console.error(l) : undefined,
  });
  const table = formatReport(report);
  console.log(table);
  assertEquals(report.kills.total, 20, table);
  for (const n of Object.values(report.kills.byShape)) assertEquals(n, 5, table);
  assertEquals(report.retries, { total: 20, succeeded: 20 }, table);
  assertEquals(report.corruptBlobs, 0, table);
  assertEquals(report.partialBlobs, 0, table);
  assertEquals(report.brokenNames, 0, table);
  assertEquals(report.staleAfterRetry, 0, table);
  assertEquals(report.concurrent.imports, 24, table);
  assertEquals([report.final.imagesCheck, report.final.contentVerify], [0, 0], table);
  assertEquals(report.final.names, 9, table); // 8 archives and the bystander
  if (report.final.skopeo.ran) {
    // Every name, docker-archive imports too (they get OCI manifests, as the README says);
    // one full copy per input shape.
    assertEquals(report.final.skopeo.dockerNames, 0, table);
    assertEquals(report.final.skopeo.inspected, 9, table);
    assertEquals(report.final.skopeo.copied, 4, table);
  } else {
    console.log("skipped: skopeo is not installed (the soak ran without it)");
  }
  assertEquals(report.failures, [], table);
  assert(report.ok, table);
});
