/**
 * Pulls whose large blobs are hashed and written by worker threads (what `lading pull` does
 * for blobs of 8 MiB and more), against the real registry behind the fault proxy: a wrong
 * digest is refused naming the blob, a cut body resumes with Range, a pull that fails
 * mid-blob leaves nothing visible and no name, and the next pull continues the partial
 * download.
 */
import { DigestMismatchError, RegistryError } from "../../src/errors.ts";
import { fsWriteWorkers } from "../../src/deno/fs_write_workers.ts";
import { pullImage } from "../../src/registry/pull.ts";
import { RegistryClient } from "../../src/registry/client.ts";
import { openFsStore } from "../../src/store/fs.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { withTempDir } from "../export/_support.ts";
import {
  bigBlobPath,
  imagesOf,
  oneClearLine,
  type PullJson,
  sampleImage,
  storeBlob,
  visibleState,
  world,
} from "./_cli.ts";
import { haveRegistry, pushBuiltImage, startFaultProxy, startRegistry } from "./_registry.ts";

const BIG = 3 * 1024 * 1024 + 4321;

/** A registry with a two-layer image behind a fault proxy, and a store with a write worker. */
async function setUp(dir: string) {
  const reg = await startRegistry();
  const proxy = await startFaultProxy(reg.url);
  const image = await sampleImage([BIG, 3000]);
  await pushBuiltImage(reg, "workers/app", "1", image);
  // Every write of a known size may go to the worker; the largest (the big layer) does.
  const workers = fsWriteWorkers({ workers: 1, minBytes: 0 });
  const storeDir = `${dir}/store`;
  const store = await openFsStore(storeDir, { writeOffload: workers });
  const client = (maxResumes = 5) =>
    new RegistryClient(proxy.host, { plainHttp: true, maxResumes, backoffMs: 1 });
  return {
    proxy,
    image,
    workers,
    store,
    storeDir,
    client,
    ref: `${proxy.host}/workers/app:1`,
    big: image.layers[0].descriptor,
    [Symbol.asyncDispose]: async () => {
      workers.close();
      await proxy.stop();
      await reg.stop();
    },
  };
}

Deno.test("a pull through a write worker stores exactly the registry's bytes", async () => {
  if (!(await haveRegistry("pull through write workers"))) return;
  await withTempDir(async (dir) => {
    await using s = await setUp(dir);
    const pulled = await pullImage(s.store, s.ref, { client: s.client() });
    assertEquals(pulled.digest, s.image.manifest.descriptor.digest);
    assertEquals(pulled.blobs.added, 4);
    assertEquals(s.workers.workersRunning, 1, "the big layer went to the worker");
    assertEquals(await Deno.readFile(s.store.blobFile(s.big.digest)), s.image.layers[0].bytes);
  });
});

Deno.test("through a write worker, bytes that do not match their digest are refused naming the blob; nothing is visible and no name recorded", async () => {
  if (!(await haveRegistry("wrong digest through write workers"))) return;
  await withTempDir(async (dir) => {
    await using s = await setUp(dir);
    s.proxy.add({
      kind: "blob",
      method: "GET",
      path: bigBlobPath(s.big.digest),
      action: { corrupt: true },
    });
    const e = await assertRejects(
      () => pullImage(s.store, s.ref, { client: s.client() }),
      DigestMismatchError,
    );
    assert(e.message.includes(s.big.digest), e.message);
    assertEquals(s.workers.workersRunning, 1);
    assert(!(await visibleState(s.storeDir)).includes(s.big.digest.slice(7)), "not in blobs/");
    assertEquals(await s.store.listImages(), []);
    const ingest = await Array.fromAsync(Deno.readDir(`${s.storeDir}/ingest`));
    assertEquals(ingest.map((e) => e.name), [], "the refused bytes are dropped");
  });
});

Deno.test("through a write worker, a cut body resumes with Range and the blob is complete", async () => {
  if (!(await haveRegistry("resume through write workers"))) return;
  await withTempDir(async (dir) => {
    await using s = await setUp(dir);
    const path = bigBlobPath(s.big.digest);
    s.proxy.add({ kind: "blob", method: "GET", path, times: 1, action: { cutAfter: 1_500_000 } });
    const pulled = await pullImage(s.store, s.ref, { client: s.client() });
    assert(pulled.blobs.resumed >= 1, JSON.stringify(pulled.blobs));
    const gets = s.proxy.seen.filter((r) => r.kind === "blob" && path.test(r.path));
    assertEquals(gets.length, 2);
    assert(/^bytes=[1-9]\d*-$/.test(gets[1].range ?? ""), `asks for the rest: ${gets[1].range}`);
    assert(gets[1].bytes < BIG, "only the rest is downloaded again");
    assertEquals(await Deno.readFile(s.store.blobFile(s.big.digest)), s.image.layers[0].bytes);
  });
});

Deno.test("through a write worker, a pull that fails mid-blob names nothing and keeps the partial download, which the next pull continues with Range", async () => {
  if (!(await haveRegistry("partial download through write workers"))) return;
  await withTempDir(async (dir) => {
    await using s = await setUp(dir);
    const path = bigBlobPath(s.big.digest);
    s.proxy.add({ kind: "blob", method: "GET", path, times: 1, action: { cutAfter: 2_000_000 } });
    await assertRejects(
      () => pullImage(s.store, s.ref, { client: s.client(0) }),
      RegistryError,
    );
    assertEquals(await s.store.listImages(), [], "no name on failure");
    assert(!(await visibleState(s.storeDir)).includes(s.big.digest.slice(7)), "not visible");
    const kept = await Array.fromAsync(Deno.readDir(`${s.storeDir}/ingest`));
    assertEquals(kept.map((e) => e.name), [`r-sha256-${s.big.digest.slice(7)}`]);
    const partial = (await Deno.stat(`${s.storeDir}/ingest/${kept[0].name}`)).size;
    assert(partial > 0 && partial <= 2_000_000, `kept what arrived: ${partial}`);

    s.proxy.reset();
    const pulled = await pullImage(s.store, s.ref, { client: s.client() });
    assertEquals(pulled.digest, s.image.manifest.descriptor.digest);
    const gets = s.proxy.seen.filter((r) => r.kind === "blob" && path.test(r.path));
    assertEquals(gets.map((g) => g.range), [`bytes=${partial}-`], "continued from the partial");
    assertEquals(await Deno.readFile(s.store.blobFile(s.big.digest)), s.image.layers[0].bytes);
    assertEquals((await s.store.listImages()).length, 1);
  });
});

Deno.test("lading pull of a layer above the write-worker threshold (8 MiB): the same bytes, a wrong digest refused naming the blob, no name, and the process exits (workers closed)", async () => {
  if (!(await haveRegistry("CLI pull with a write worker"))) return;
  await withTempDir(async (dir) => {
    const reg = await startRegistry();
    const proxy = await startFaultProxy(reg.url);
    try {
      const image = await sampleImage([9 * 1024 * 1024, 2000]);
      await pushBuiltImage(reg, "workers/cli", "1", image);
      const big = image.layers[0].descriptor;
      const w = await world(dir);
      const ref = `${proxy.host}/workers/cli:1`;
      proxy.add({
        kind: "blob",
        method: "GET",
        path: bigBlobPath(big.digest),
        times: 1,
        action: { corrupt: true },
      });
      const refused = await w.run(["pull", "--plain-http", ref], { code: 1 });
      oneClearLine(refused, big.digest.slice(0, 19));
      assert(!(await visibleState(w.store)).includes(big.digest.slice(7)), "not in blobs/");
      assertEquals((await imagesOf(w)).size, 0, "no name");

      const pulled = await w.json<PullJson>(["pull", "--plain-http", ref]);
      assertEquals(pulled.digest, image.manifest.descriptor.digest);
      assertEquals(await storeBlob(w, big.digest), image.layers[0].bytes);
    } finally {
      await proxy.stop();
      await reg.stop();
    }
  });
});
