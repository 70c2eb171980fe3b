/**
 * Faults between lading and the registry, injected by the fault proxy in front of the real
 * registry: a body cut mid-blob resumes with Range (and copes with a server that ignores
 * Range), a killed pull continues on the next run, 503 and 429 + Retry-After are retried,
 * other 4xx are not, bytes that do not match their digest are refused naming the blob with
 * the store unchanged, and redirects never carry Authorization to another origin.
 */
import { assert, assertEquals } from "../assert.ts";
import { withTempDir } from "../export/_support.ts";
import {
  BIG,
  bigBlobPath,
  imageBehindProxy,
  imagesOf,
  namesFile,
  oneClearLine,
  type PullJson,
  storeBlob,
  visibleState,
} from "./_cli.ts";
import { haveRegistry } from "./_registry.ts";

Deno.test("a blob body cut mid-way resumes with Range: bytes=N- and the image is complete", async () => {
  if (!(await haveRegistry("resume after cut"))) return;
  await withTempDir(async (dir) => {
    await using s = await imageBehindProxy(dir);
    s.proxy.add({
      kind: "blob",
      method: "GET",
      path: bigBlobPath(s.big.digest),
      times: 1,
      action: { cutAfter: 100_000 },
    });
    const pulled = await s.w.json<PullJson>(["pull", ...s.flags, s.ref]);
    assertEquals(pulled.digest, s.image.manifest.descriptor.digest);
    assert(pulled.blobs.resumed >= 1, `resumed counted: ${JSON.stringify(pulled.blobs)}`);
    const gets = s.proxy.seen.filter((r) =>
      r.kind === "blob" && bigBlobPath(s.big.digest).test(r.path)
    );
    assertEquals(gets.length, 2, "one cut request, one resumed request");
    const m = gets[1].range?.match(/^bytes=(\d+)-$/);
    assert(m, `the second request asks for the rest: ${gets[1].range}`);
    assert(Number(m[1]) > 0 && Number(m[1]) <= 100_000, `resumes from what arrived: ${m[1]}`);
    assert(gets[1].bytes < BIG, "the resumed request does not fetch the whole blob again");
    assertEquals(await storeBlob(s.w, s.big.digest), s.image.layers[0].bytes);
  });
});

Deno.test("a server that ignores Range still yields the right blob after a cut", async () => {
  if (!(await haveRegistry("ignored range"))) return;
  await withTempDir(async (dir) => {
    await using s = await imageBehindProxy(dir);
    const path = bigBlobPath(s.big.digest);
    s.proxy.add({ kind: "blob", method: "GET", path, times: 1, action: { cutAfter: 150_000 } });
    s.proxy.add({ kind: "blob", method: "GET", path, action: { ignoreRange: true } });
    const pulled = await s.w.json<PullJson>(["pull", ...s.flags, s.ref]);
    assertEquals(pulled.digest, s.image.manifest.descriptor.digest);
    assertEquals(await storeBlob(s.w, s.big.digest), s.image.layers[0].bytes);
    await s.w.run(["images", "check", s.ref]);
  });
});

Deno.test("503 once and 429 with Retry-After are retried (after the time asked)", async () => {
  if (!(await haveRegistry("retry 503 and 429"))) return;
  await withTempDir(async (dir) => {
    await using s = await imageBehindProxy(dir);
    s.proxy.add({
      kind: "manifest",
      method: "GET",
      times: 1,
      action: { respond: { status: 503 } },
    });
    s.proxy.add({
      kind: "blob",
      method: "GET",
      path: bigBlobPath(s.big.digest),
      times: 1,
      action: { respond: { status: 429, headers: { "retry-after": "1" } } },
    });
    const pulled = await s.w.json<PullJson>(["pull", ...s.flags, s.ref]);
    assertEquals(pulled.digest, s.image.manifest.descriptor.digest);
    const gets = s.proxy.seen.filter((r) =>
      r.kind === "blob" && bigBlobPath(s.big.digest).test(r.path)
    );
    assertEquals(gets.map((g) => g.status), [429, 200]);
    // A lower bound, not a speed assertion: the retry must not come before Retry-After.
    assert(
      gets[1].at - gets[0].at >= 900,
      `waited ${gets[1].at - gets[0].at} ms for Retry-After: 1`,
    );
    assert(s.proxy.seen.some((r) => r.kind === "manifest" && r.status === 503));
  });
});

Deno.test("404 and 401 on a blob are not retried; the failure says what failed", async () => {
  if (!(await haveRegistry("no retry on 4xx"))) return;
  await withTempDir(async (dir) => {
    await using s = await imageBehindProxy(dir);
    const path = bigBlobPath(s.big.digest);
    for (const status of [404, 401]) {
      s.proxy.reset();
      s.proxy.add({
        kind: "blob",
        method: "GET",
        path,
        action: {
          respond: {
            status,
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              errors: [{ code: status === 404 ? "BLOB_UNKNOWN" : "UNAUTHORIZED", message: "test" }],
            }),
          },
        },
      });
      const before = await namesFile(s.w.store);
      const r = await s.w.run(["pull", ...s.flags, s.ref], { code: 1 });
      oneClearLine(r);
      assertEquals(
        s.proxy.seen.filter((x) => x.kind === "blob" && path.test(x.path) && x.method === "GET")
          .length,
        1,
        `${status} is final`,
      );
      assertEquals(await namesFile(s.w.store), before, "no name changes on failure");
    }
  });
});

Deno.test("bytes that do not match their digest are refused naming the blob; the store is unchanged", async () => {
  if (!(await haveRegistry("wrong digest"))) return;
  await withTempDir(async (dir) => {
    await using s = await imageBehindProxy(dir);
    s.proxy.add({
      kind: "blob",
      method: "GET",
      path: bigBlobPath(s.big.digest),
      action: { corrupt: true },
    });
    const before = await namesFile(s.w.store);
    const r = await s.w.run(["pull", ...s.flags, s.ref], { code: 1 });
    oneClearLine(r, s.big.digest.slice(0, 19));
    assert(!(await visibleState(s.w.store)).includes(s.big.digest.slice(7)), "not in blobs/");
    assertEquals(await namesFile(s.w.store), before, "index.json unchanged");
    assertEquals((await imagesOf(s.w)).size, 0);
  });
});

Deno.test("a redirect to another origin is followed without Authorization", async () => {
  if (!(await haveRegistry("redirect without Authorization", { basic: true }))) return;
  await withTempDir(async (dir) => {
    await using s = await imageBehindProxy(dir, { auth: "basic" });
    s.proxy.add({ kind: "blob", method: "GET", action: { redirect: true } });
    const pulled = await s.w.json<PullJson>(["pull", ...s.flags, s.ref]);
    assertEquals(pulled.digest, s.image.manifest.descriptor.digest);
    assert(s.proxy.redirected.length >= 2, "config and layers came from the other origin");
    assert(
      s.proxy.seen.some((r) => r.kind === "blob" && r.authorization),
      "the registry itself got the credentials",
    );
    assert(s.proxy.redirected.every((r) => !r.authorization), "the other origin got none");
    assertEquals(await storeBlob(s.w, s.big.digest), s.image.layers[0].bytes);
  });
});

Deno.test("push retries an upload after 503 and the registry ends with the exact bytes", async () => {
  if (!(await haveRegistry("push retry"))) return;
  await withTempDir(async (dir) => {
    await using s = await imageBehindProxy(dir);
    const src = s.w.other("src");
    await src.run(["pull", "--plain-http", "-q", `${s.reg.host}/faults/app:1`]);
    s.proxy.add({ kind: "upload", method: "POST", times: 1, action: { respond: { status: 503 } } });
    s.proxy.add({
      kind: "manifest",
      method: "PUT",
      times: 1,
      action: { respond: { status: 502 } },
    });
    await src.run([
      "push",
      "--plain-http",
      "-q",
      `${s.proxy.host}/pushed/app:1`,
      `${s.reg.host}/faults/app:1`,
    ]);
    const r = await s.reg.fetch(`/v2/pushed/app/manifests/1`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    assertEquals(new Uint8Array(await r.arrayBuffer()), s.image.manifest.bytes);
  });
});
