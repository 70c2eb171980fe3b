/**
 * A pull killed mid-blob continues on the next run where it stopped (issue #10, "Faults"):
 * verified blobs stay unnamed, the partial download stays in ingest/ and the next run asks
 * for the rest with Range.
 */
import { assert, assertEquals } from "../assert.ts";
import { withTempDir } from "../export/_support.ts";
import {
  BIG,
  bigBlobPath,
  imageBehindProxy,
  namesFile,
  type PullJson,
  storeBlob,
  visibleState,
} from "./_cli.ts";
import { haveRegistry } from "./_registry.ts";

Deno.test("a killed pull leaves no name and no unverified blob; the next run continues the partial download", async () => {
  if (!(await haveRegistry("pull resumes across runs"))) return;
  await withTempDir(async (dir) => {
    await using s = await imageBehindProxy(dir);
    const path = bigBlobPath(s.big.digest);
    // The big blob stops after 120 KB and the connection stays silent: kill lading there.
    s.proxy.add({ kind: "blob", method: "GET", path, action: { stallAfter: 120_000 } });
    const names = await namesFile(s.w.store);
    const child = s.w.spawn(["pull", ...s.flags, s.ref]);
    const stalled = () => s.proxy.seen.some((r) => path.test(r.path) && r.bytes >= 120_000);
    for (let i = 0; i < 2400 && !stalled(); i++) await new Promise((r) => setTimeout(r, 50));
    assert(stalled(), "the big blob started");
    await new Promise((r) => setTimeout(r, 300)); // let it write what arrived
    child.kill("SIGKILL");
    await child.status;

    assertEquals(await namesFile(s.w.store), names, "no name on failure");
    assert(!(await visibleState(s.w.store)).includes(s.big.digest.slice(7)), "not visible");
    const ingest = await Array.fromAsync(Deno.readDir(`${s.w.store}/ingest`)).catch(() => []);
    assert(ingest.length > 0, "the partial download stays in ingest/");

    s.proxy.reset();
    const pulled = await s.w.json<PullJson>(["pull", ...s.flags, s.ref]);
    assertEquals(pulled.digest, s.image.manifest.descriptor.digest);
    const gets = s.proxy.seen.filter((r) => r.kind === "blob" && path.test(r.path));
    assertEquals(gets.length, 1);
    assert(/^bytes=[1-9]\d*-$/.test(gets[0].range ?? ""), `continued with Range: ${gets[0].range}`);
    assert(gets[0].bytes < BIG, "only the rest is downloaded");
    assertEquals(await storeBlob(s.w, s.big.digest), s.image.layers[0].bytes);
  });
});
