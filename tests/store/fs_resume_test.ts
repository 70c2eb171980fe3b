/**
 * The fs store's resumable writes (`writer({ resume: digest })`): a write that broke off
 * keeps its bytes in `ingest/` for the next write of the same digest; bytes that fail
 * verification are dropped.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { openFsStore } from "../../src/store/fs.ts";
import { digestBytes } from "../../src/digest.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import { DigestMismatchError } from "../../src/errors.ts";
import { readBlobBytes } from "../../src/store/blob.ts";

const bytes = new TextEncoder().encode("0123456789".repeat(1000));

Deno.test("fs store: an aborted resumable write keeps its bytes; the next one continues from its offset", async () => {
  const dir = await Deno.makeTempDir();
  const store = await openFsStore(dir);
  try {
    const digest = await digestBytes(await getRuntime(), bytes);
    const first = await store.writer({ resume: digest });
    assertEquals(first.offset, 0);
    await first.write(bytes.subarray(0, 3000));
    await first.abort();
    assertEquals([...Deno.readDirSync(`${dir}/ingest`)].map((e) => e.name), [
      `r-sha256-${digest.slice(7)}`,
    ]);
    const second = await store.writer({ resume: digest });
    assertEquals(second.offset, 3000);
    await second.write(bytes.subarray(3000));
    assertEquals(await second.commit({ digest, size: bytes.length }), { added: true });
    assertEquals(await readBlobBytes(store, digest), bytes);
    assertEquals([...Deno.readDirSync(`${dir}/ingest`)].length, 0);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fs store: a resumed write whose bytes do not verify is discarded, and abort({ discard }) drops them", async () => {
  const dir = await Deno.makeTempDir();
  const store = await openFsStore(dir);
  try {
    const digest = await digestBytes(await getRuntime(), bytes);
    const w = await store.writer({ resume: digest });
    await w.write(new TextEncoder().encode("garbage"));
    await w.abort();
    const again = await store.writer({ resume: digest });
    assertEquals(again.offset, 7);
    await again.write(bytes.subarray(7));
    await assertRejects(() => again.commit({ digest, size: bytes.length }), DigestMismatchError);
    assertEquals([...Deno.readDirSync(`${dir}/ingest`)].length, 0);
    const third = await store.writer({ resume: digest });
    assertEquals(third.offset, 0);
    await third.write(bytes.subarray(0, 10));
    await third.abort({ discard: true });
    assertEquals([...Deno.readDirSync(`${dir}/ingest`)].length, 0);
    assert(!(await store.has(digest)));
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
