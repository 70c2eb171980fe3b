/**
 * A graph that is small on disk but wide when walked naively: index.json with N = 600
 * entries that all point at one index listing 600 manifests that are not there (a small
 * gzip). Every node is walked once, every missing blob reported once, the output stays
 * bounded (a count and the first few) and the import's lease grows with the distinct blobs,
 * not with the paths to them. (No time is asserted: the bounds are on what is written.)
 * @module
 */
import { createHash } from "node:crypto";
import { importImages } from "../../src/import/mod.ts";
import { MissingContentError } from "../../src/errors.ts";
import * as mt from "../../src/media_types.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Lease } from "../../src/store/types.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../assert.ts";
import { compress, jsonBlob, layoutFiles, tarOfFiles } from "../helpers/images.ts";
import { runDeno } from "../helpers/peak_rss.ts";
import { snapshot, tarSource, withTempDir } from "../import/_support.ts";

const N = 600;
const cli = new URL("../../cli.ts", import.meta.url);

/** The archive (gzip) and the digests of the missing manifests. */
async function sharedIndexArchive(): Promise<{ gzip: Uint8Array; missing: string[] }> {
  const missing = Array.from({ length: N }, (_, i) => ({
    mediaType: mt.OCI_MANIFEST,
    digest: `sha256:${createHash("sha256").update(`absent manifest ${i}`).digest("hex")}`,
    size: 500 + i,
  }));
  const index = await jsonBlob(
    { schemaVersion: 2, mediaType: mt.OCI_INDEX, manifests: missing },
    mt.OCI_INDEX,
  );
  const entries = Array.from({ length: N }, (_, i) => ({
    descriptor: index.descriptor,
    refName: `example.com/shared:${i}`,
  }));
  const tar = await tarOfFiles(layoutFiles(entries, [index]));
  return { gzip: await compress(tar, "gzip"), missing: missing.map((m) => m.digest) };
}

Deno.test(`import refuses ${N} names over one index of ${N} missing manifests in one short line, the store unchanged`, async () => {
  await withTempDir(async (dir) => {
    const { gzip } = await sharedIndexArchive();
    assert(gzip.byteLength < 64 * 1024, `the input is small (${gzip.byteLength} bytes)`);
    await Deno.writeFile(`${dir}/shared.tar.gz`, gzip);
    const store = `${dir}/store`;
    await Deno.mkdir(store);
    const init = await runDeno(cli, ["import", "--store", store, `${dir}/shared.tar.gz`, "-q"]);
    assertEquals(init.code, 1);
    const before = await snapshot(store);
    const r = await runDeno(cli, ["import", "--store", store, `${dir}/shared.tar.gz`]);
    assertEquals(r.code, 1, r.stderr.slice(0, 500));
    const lines = r.stderr.split("\n").filter((l) => l);
    assertEquals(lines.length, 1, r.stderr.slice(0, 2000));
    assertMatch(lines[0], new RegExp(`^lading: .*${N} blobs are missing: .*and ${N - 3} more$`));
    assert(lines[0].length < 1000, `a ${lines[0].length}-character line`);
    assertEquals(await snapshot(store), before);
  });
});

Deno.test(`import --allow-missing and images check of ${N} names over one index of ${N} missing manifests: output grows with N, not N²`, async () => {
  await withTempDir(async (dir) => {
    const { gzip } = await sharedIndexArchive();
    await Deno.writeFile(`${dir}/shared.tar.gz`, gzip);
    const store = `${dir}/store`;
    const r = await runDeno(cli, [
      "import",
      "--allow-missing",
      "--store",
      store,
      `${dir}/shared.tar.gz`,
    ]);
    assertEquals(r.code, 0, r.stderr.slice(0, 500));
    // One line per name on stdout; on stderr a count and the first few missing blobs.
    assertEquals(r.stdout.split("\n").filter((l) => l).length, N);
    const errLines = r.stderr.split("\n").filter((l) => l);
    assert(
      errLines.length <= 10,
      `${errLines.length} lines on stderr:\n${r.stderr.slice(0, 3000)}`,
    );
    assertMatch(r.stderr, new RegExp(`${N} blob\\(s\\) missing`));
    assertMatch(r.stderr, new RegExp(`and ${N - 5} more`));

    const check = await runDeno(cli, ["images", "check", "--store", store]);
    assertEquals(check.code, 1, check.stderr);
    const out = check.stdout.split("\n").filter((l) => l);
    // A header per name; the shared index's problems once, the first few of them.
    assert(out.length <= N + 15, `${out.length} lines of output`);
    assertEquals(out.filter((l) => l.includes("INCOMPLETE")).length, N);
    assertEquals(out.filter((l) => l.includes("the same content as")).length, N - 1);
    assert(check.stdout.length < N * 200, `${check.stdout.length} bytes of output`);
    assertEquals(check.stderr.trim(), `lading: ${N} problem images found`);
  });
});

Deno.test(`the import's lease grows with the distinct blobs (${N + 1}), not with the ${N * N} paths to them`, async () => {
  const { gzip, missing } = await sharedIndexArchive();
  const store = new MemoryStore();
  const leased: string[] = [];
  const lease = store.lease.bind(store);
  store.lease = async (): Promise<Lease> => {
    const inner = await lease();
    return {
      id: inner.id,
      add: (digests) => {
        leased.push(...digests);
        return inner.add(digests);
      },
      release: () => inner.release(),
    };
  };
  const error = await assertRejects(
    () => importImages(store, tarSource(gzip, "shared.tar.gz")),
    MissingContentError,
  );
  assertEquals(new Set(error.missing.map((m) => m.digest)), new Set(missing));
  assertEquals(error.missing.length, N, "each missing blob once");
  assert(leased.length <= N + 1, `${leased.length} digests added to the lease`);
  assertEquals(new Set(leased).size, leased.length, "each digest leased once");
});
