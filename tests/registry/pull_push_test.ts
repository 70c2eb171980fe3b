/**
 * pullImage / pushImage / copyImage against the real distribution registry (Debian's
 * `docker-registry`) on 127.0.0.1, in each auth mode, through the fault proxy.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../assert.ts";
import { buildImage, buildIndex, type BuiltImage, jsonBlob } from "../helpers/images.ts";
import {
  blobBytes,
  getManifest,
  haveRegistry,
  pushBuiltImage,
  pushBuiltIndex,
  putBlob,
  type Registry,
  startFaultProxy,
  startRegistry,
} from "./_registry.ts";
import { RegistryClient, type RegistryClientOptions } from "../../src/registry/client.ts";
import { copyImage, pullImage, pushImage } from "../../src/registry/pull.ts";
import { openFsStore } from "../../src/store/fs.ts";
import {
  DigestMismatchError,
  MissingContentError,
  NotFoundError,
  RegistryError,
} from "../../src/errors.ts";
import { hostPlatform } from "../../src/platform.ts";
import { readBlobBytes } from "../../src/store/blob.ts";
import { OCI_INDEX } from "../../src/media_types.ts";

const host = hostPlatform();
const other = host.architecture === "arm64"
  ? { os: "linux", architecture: "amd64" }
  : { os: "linux", architecture: "arm64" };

async function twoPlatformImages(): Promise<BuiltImage[]> {
  return [
    await buildImage({
      platform: host,
      layers: [
        { files: [{ path: "a.txt", content: "host layer one\n".repeat(5000) }] },
        { files: [{ path: "b.txt", content: "host layer two\n".repeat(3000) }] },
      ],
    }),
    await buildImage({
      platform: other,
      layers: [{ files: [{ path: "c.txt", content: "other platform\n" }] }],
    }),
  ];
}

/** An image with one uncompressed layer of `size` random bytes. */
function randomImage(size: number): Promise<BuiltImage> {
  return buildImage({
    platform: host,
    layers: [{
      files: [{ path: "r.bin", content: crypto.getRandomValues(new Uint8Array(size)) }],
      compression: "none",
    }],
  });
}

function clientOf(reg: Registry | { host: string }, options: RegistryClientOptions = {}) {
  const r = reg as Registry;
  return new RegistryClient(reg.host, {
    plainHttp: !r.tls,
    credentials: r.username
      ? (h) =>
        Promise.resolve(
          h === reg.host ? { username: r.username!, password: r.password! } : undefined,
        )
      : undefined,
    ...(r.caFile
      ? {
        fetch: (() => {
          const client = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(r.caFile!)] });
          return (i: RequestInfo | URL, init?: RequestInit) => fetch(i, { ...init, client });
        })(),
      }
      : {}),
    retries: 3,
    backoffMs: 10,
    ...options,
  });
}

async function tempStore() {
  const dir = await Deno.makeTempDir({ prefix: "lading-pull-" });
  const store = await openFsStore(dir);
  return {
    store,
    dir,
    async [Symbol.asyncDispose]() {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("pullImage() fetches the host's platform under an index, stores and names the index, verifies every blob", async () => {
  if (!(await haveRegistry("pull index"))) return;
  await using reg = await startRegistry();
  const images = await twoPlatformImages();
  const index = await buildIndex(images);
  await pushBuiltIndex(reg, "team/app", "v1", images, index);
  await using s = await tempStore();
  const result = await pullImage(s.store, `${reg.host}/team/app:v1`, { client: clientOf(reg) });
  assertEquals(result.name, `${reg.host}/team/app:v1`);
  assertEquals(result.digest, index.descriptor.digest);
  assertEquals(result.mediaType, OCI_INDEX);
  assertEquals(result.platforms, [`${host.os}/${host.architecture}`]);
  assertEquals((await s.store.getImage(result.name)).target.digest, index.descriptor.digest);
  for (const b of [images[0].manifest, images[0].config, ...images[0].layers]) {
    assert(await s.store.has(b.descriptor.digest), `missing ${b.descriptor.digest}`);
  }
  assert(!(await s.store.has(images[1].manifest.descriptor.digest)), "other platform was pulled");
  assertEquals(await readBlobBytes(s.store, index.descriptor.digest), index.bytes);
  assertEquals(result.blobs.added, 5); // index, manifest, config, 2 layers
  // --all-platforms then fetches only what is missing.
  const all = await pullImage(s.store, `${reg.host}/team/app:v1`, {
    client: clientOf(reg),
    allPlatforms: true,
  });
  assertEquals(all.blobs.added, 3);
  assertEquals(all.platforms.length, 2);
});

Deno.test("pullImage() of a digest reference names the image repo@digest; a re-pull transfers no blob", async () => {
  if (!(await haveRegistry("re-pull"))) return;
  await using reg = await startRegistry();
  await using proxy = await startFaultProxy(reg.url);
  const [img] = await twoPlatformImages();
  const digest = await pushBuiltImage(reg, "x/y", "1", img);
  await using s = await tempStore();
  const ref = `${proxy.host}/x/y@${digest}`;
  const first = await pullImage(s.store, ref, { client: clientOf(proxy) });
  assertEquals(first.name, ref);
  proxy.reset();
  const again = await pullImage(s.store, ref, { client: clientOf(proxy) });
  assertEquals(again.blobs.added, 0);
  assertEquals(again.blobs.bytes, 0);
  assertEquals(proxy.count({ kind: "blob" }), 0);
});

Deno.test("pullImage() resumes a body cut mid-blob with Range, and copes with a server that ignores Range", async () => {
  if (!(await haveRegistry("range resume"))) return;
  await using reg = await startRegistry();
  await using proxy = await startFaultProxy(reg.url);
  const [img] = await twoPlatformImages();
  await pushBuiltImage(reg, "r/a", "1", img);
  const big = img.layers[0].descriptor.digest;
  proxy.add({
    kind: "blob",
    method: "GET",
    path: new RegExp(big),
    times: 1,
    action: { cutAfter: 100 },
  });
  await using s = await tempStore();
  const result = await pullImage(s.store, `${proxy.host}/r/a:1`, { client: clientOf(proxy) });
  assertEquals(result.blobs.resumed, 1);
  const ranged = proxy.seen.filter((r) => r.kind === "blob" && r.range);
  assertEquals(ranged.map((r) => r.range), ["bytes=100-"]);
  assertEquals(await readBlobBytes(s.store, big, { maxJsonBytes: 1 << 24 }), img.layers[0].bytes);

  proxy.reset();
  proxy.add({
    kind: "blob",
    method: "GET",
    path: new RegExp(big),
    times: 1,
    action: { cutAfter: 50 },
  });
  proxy.add({ kind: "blob", method: "GET", path: new RegExp(big), action: { ignoreRange: true } });
  await using s2 = await tempStore();
  const r2 = await pullImage(s2.store, `${proxy.host}/r/a:1`, { client: clientOf(proxy) });
  assertEquals(r2.blobs.resumed, 1);
  assertEquals(await readBlobBytes(s2.store, big, { maxJsonBytes: 1 << 24 }), img.layers[0].bytes);
});

Deno.test("pullImage() retries 503 and 429 (Retry-After) and never a 4xx", async () => {
  if (!(await haveRegistry("retries"))) return;
  await using reg = await startRegistry();
  await using proxy = await startFaultProxy(reg.url);
  const [img] = await twoPlatformImages();
  await pushBuiltImage(reg, "f/a", "1", img);
  proxy.add({ kind: "manifest", times: 1, action: { respond: { status: 503 } } });
  proxy.add({
    kind: "blob",
    times: 1,
    action: { respond: { status: 429, headers: { "retry-after": "0" } } },
  });
  await using s = await tempStore();
  await pullImage(s.store, `${proxy.host}/f/a:1`, { client: clientOf(proxy) });
  assertEquals(proxy.count({ status: 503 }), 1);
  assertEquals(proxy.count({ status: 429 }), 1);
  proxy.reset();
  proxy.add({ kind: "manifest", action: { respond: { status: 403, body: "no" } } });
  await assertRejects(
    () => pullImage(s.store, `${proxy.host}/f/a:1`, { client: clientOf(proxy) }),
    RegistryError,
    "denied",
  );
  assertEquals(proxy.count({ kind: "manifest" }), 1);
});

Deno.test("pullImage() refuses a blob whose bytes do not match, naming it; no name is recorded, verified blobs stay for the next pull", async () => {
  if (!(await haveRegistry("corrupt blob"))) return;
  await using reg = await startRegistry();
  await using proxy = await startFaultProxy(reg.url);
  const [img] = await twoPlatformImages();
  await pushBuiltImage(reg, "c/a", "1", img);
  const bad = img.layers[1].descriptor.digest;
  proxy.add({ kind: "blob", path: new RegExp(bad), action: { corrupt: true } });
  await using s = await tempStore();
  const e = await assertRejects(
    () => pullImage(s.store, `${proxy.host}/c/a:1`, { client: clientOf(proxy), concurrency: 1 }),
    DigestMismatchError,
  );
  assertMatch(e.message, new RegExp(bad.slice(7, 19)));
  assertEquals((await s.store.listImages()).length, 0);
  assert(!(await s.store.has(bad)));
  assert(await s.store.has(img.layers[0].descriptor.digest), "the verified layer was removed");
  proxy.reset();
  const again = await pullImage(s.store, `${proxy.host}/c/a:1`, { client: clientOf(proxy) });
  assert(again.blobs.present >= 1, "the verified blob was downloaded again");
  assertEquals(proxy.count({ kind: "blob" }), 1);
});

Deno.test("redirects to blob storage are followed without Authorization (Basic auth registry)", async () => {
  if (!(await haveRegistry("redirect", { basic: true }))) return;
  await using reg = await startRegistry({ auth: "basic" });
  await using proxy = await startFaultProxy(reg.url);
  const [img] = await twoPlatformImages();
  await pushBuiltImage(reg, "d/a", "1", img);
  proxy.add({ kind: "blob", method: "GET", action: { redirect: true } });
  await using s = await tempStore();
  const c = new RegistryClient(proxy.host, {
    plainHttp: true,
    credentials: (h) =>
      Promise.resolve(
        h === proxy.host ? { username: reg.username!, password: reg.password! } : undefined,
      ),
  });
  await pullImage(s.store, `${proxy.host}/d/a:1`, { client: c });
  assert(proxy.redirected.length >= 3);
  assert(proxy.redirected.every((r) => !r.authorization), "Authorization followed a redirect");
});

Deno.test("Basic auth: pull and push with credentials; wrong credentials fail saying so", async () => {
  if (!(await haveRegistry("basic auth", { basic: true }))) return;
  await using reg = await startRegistry({ auth: "basic" });
  const [img] = await twoPlatformImages();
  await pushBuiltImage(reg, "b/a", "1", img);
  await using s = await tempStore();
  await pullImage(s.store, `${reg.host}/b/a:1`, { client: clientOf(reg) });
  const pushed = await pushImage(s.store, `${reg.host}/b/a:1`, {
    to: `${reg.host}/b/copy:2`,
    client: clientOf(reg),
  });
  assertEquals(pushed.blobs.mounted, 3);
  const wrong = new RegistryClient(reg.host, {
    plainHttp: true,
    credentials: () => Promise.resolve({ username: reg.username!, password: "wrong" }),
  });
  await assertRejects(
    () => pullImage(s.store, `${reg.host}/b/a:1`, { client: wrong }),
    RegistryError,
    "authentication failed",
  );
});

Deno.test("Bearer token auth: pull and push through the token server; tokens are reused", async () => {
  if (!(await haveRegistry("token auth", { token: true }))) return;
  await using reg = await startRegistry({ auth: "token" });
  const [img] = await twoPlatformImages();
  await using s = await tempStore();
  await pushBuiltImage(reg, "t/a", "1", img);
  const c = clientOf(reg);
  await pullImage(s.store, `${reg.host}/t/a:1`, { client: c });
  const before = reg.tokens!.requests.length;
  assert(before >= 1 && before <= 2, `token requests: ${before}`);
  await pushImage(s.store, `${reg.host}/t/a:1`, { to: `${reg.host}/t/b:1`, client: c });
  assertEquals((await getManifest(reg, "t/b", "1")).bytes, img.manifest.bytes);
});

Deno.test("TLS: a private CA through the injected fetch works; without it the error says TLS", async () => {
  if (!(await haveRegistry("tls", { tls: true }))) return;
  await using reg = await startRegistry({ tls: true });
  const [img] = await twoPlatformImages();
  await pushBuiltImage(reg, "s/a", "1", img);
  await using s = await tempStore();
  await pullImage(s.store, `${reg.host}/s/a:1`, { client: clientOf(reg) });
  const noCa = new RegistryClient(reg.host, { retries: 0 });
  await assertRejects(
    () => pullImage(s.store, `${reg.host}/s/a:1`, { client: noCa }),
    RegistryError,
    "TLS",
  );
});

Deno.test("pushImage() sends children first and exact bytes; a second push uploads nothing", async () => {
  if (!(await haveRegistry("push round trip"))) return;
  await using src = await startRegistry();
  await using dst = await startRegistry();
  await using proxy = await startFaultProxy(dst.url);
  const images = await twoPlatformImages();
  const index = await buildIndex(images);
  await pushBuiltIndex(src, "p/a", "v1", images, index);
  await using s = await tempStore();
  await pullImage(s.store, `${src.host}/p/a:v1`, { client: clientOf(src), allPlatforms: true });
  const r = await pushImage(s.store, `${src.host}/p/a:v1`, {
    to: `${proxy.host}/q/b:v2`,
    client: clientOf(proxy),
  });
  assertEquals(r.digest, index.descriptor.digest);
  assertEquals(r.ref, `${proxy.host}/q/b:v2`);
  assertEquals(r.blobs.uploaded, 8);
  assertEquals((await getManifest(dst, "q/b", "v2")).bytes, index.bytes);
  for (const i of images) {
    for (const l of i.layers) {
      assertEquals(await blobBytes(dst, "q/b", l.descriptor.digest), l.bytes);
    }
  }
  // The index went last.
  const puts = proxy.seen.filter((x) => x.kind === "manifest" && x.method === "PUT");
  assertMatch(puts.at(-1)!.path, /manifests\/v2$/);
  proxy.reset();
  const again = await pushImage(s.store, `${src.host}/p/a:v1`, {
    to: `${proxy.host}/q/b:v2`,
    client: clientOf(proxy),
  });
  assertEquals(again.blobs.uploaded, 0);
  assertEquals(proxy.count({ kind: "upload" }), 0);
  // The tag already names the index: nothing is written at all (crane's check).
  assertEquals(proxy.count({ kind: "manifest", method: "PUT" }), 0);

  // A tag moved to another image meanwhile is written back: the index is sent again under
  // its tag (counted as uploaded: its bytes went), everything under it is there.
  await pushBuiltImage(dst, "q/b", "v2", images[1]);
  assertEquals((await getManifest(dst, "q/b", "v2")).bytes, images[1].manifest.bytes);
  proxy.reset();
  const back = await pushImage(s.store, `${src.host}/p/a:v1`, {
    to: `${proxy.host}/q/b:v2`,
    client: clientOf(proxy),
  });
  assertEquals(back.blobs.uploaded, 1);
  assertEquals(back.blobs.bytes, index.bytes.byteLength);
  assertEquals(proxy.count({ kind: "upload" }), 0);
  const puts2 = proxy.seen.filter((x) => x.kind === "manifest" && x.method === "PUT");
  assertEquals(puts2.map((x) => x.path), ["/v2/q/b/manifests/v2"]);
  assertEquals((await getManifest(dst, "q/b", "v2")).bytes, index.bytes);
});

Deno.test("pushImage() refuses an image with missing content before sending anything, listing it", async () => {
  if (!(await haveRegistry("push missing"))) return;
  await using src = await startRegistry();
  await using proxy = await startFaultProxy(src.url);
  const images = await twoPlatformImages();
  const index = await buildIndex(images);
  await pushBuiltIndex(src, "m/a", "v1", images, index);
  await using s = await tempStore();
  await pullImage(s.store, `${src.host}/m/a:v1`, { client: clientOf(src) });
  proxy.reset();
  const e = await assertRejects(
    () =>
      pushImage(s.store, `${src.host}/m/a:v1`, {
        to: `${proxy.host}/m/b:v1`,
        client: clientOf(proxy),
      }),
    MissingContentError,
  );
  assertMatch(e.message, new RegExp(images[1].manifest.descriptor.digest));
  assertEquals(proxy.count({ kind: "upload" }) + proxy.count({ method: "PUT" }), 0);
});

Deno.test("copyImage() mounts blobs within one registry and keeps the digest", async () => {
  if (!(await haveRegistry("copy mount"))) return;
  await using reg = await startRegistry();
  const images = await twoPlatformImages();
  const index = await buildIndex(images, { docker: true });
  await pushBuiltIndex(reg, "c/src", "1", images, index);
  const c = clientOf(reg);
  const r = await copyImage(`${reg.host}/c/src:1`, `${reg.host}/c/dst:2`, { sourceClient: c });
  assertEquals(r.digest, index.descriptor.digest);
  assertEquals(r.blobs.mounted, 5);
  assertEquals((await getManifest(reg, "c/dst", "2")).bytes, index.bytes);
  await assertRejects(
    () => copyImage(`${reg.host}/c/none:1`, `${reg.host}/c/dst:3`, { sourceClient: c }),
    NotFoundError,
  );
});

Deno.test("an artifact with a subject pushed to a registry without OCI-Subject keeps the fallback tag; pull --referrers fetches it", async () => {
  if (!(await haveRegistry("referrers fallback"))) return;
  await using reg = await startRegistry();
  const [img] = await twoPlatformImages();
  await pushBuiltImage(reg, "a/r", "1", img);
  // An artifact (signature-like) referring to the image, in a local store.
  const empty = await jsonBlob({}, "application/vnd.oci.empty.v1+json");
  const artifact = await jsonBlob({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: "application/vnd.example.sig",
    config: empty.descriptor,
    layers: [empty.descriptor],
    subject: img.manifest.descriptor,
  }, "application/vnd.oci.image.manifest.v1+json");
  await using s = await tempStore();
  const { writeBlob } = await import("../../src/store/blob.ts");
  await writeBlob(s.store, empty.bytes, empty.descriptor);
  await writeBlob(s.store, artifact.bytes, artifact.descriptor);
  await s.store.putImages([{ name: "sig", target: artifact.descriptor }]);
  const c = clientOf(reg);
  await pushImage(s.store, "sig", { to: `${reg.host}/a/r:sig`, client: c });
  await pushImage(s.store, "sig", { to: `${reg.host}/a/r:sig`, client: c });
  const list = await c.referrers("a/r", img.manifest.descriptor.digest);
  assertEquals(list.length, 1, "duplicate or missing fallback entry");
  assertEquals(list[0].artifactType, "application/vnd.example.sig");
  await using s2 = await tempStore();
  const pulled = await pullImage(s2.store, `${reg.host}/a/r:1`, { client: c, referrers: true });
  assertEquals(pulled.images.length, 2);
  assertEquals(pulled.images[1].name, `${reg.host}/a/r@${artifact.descriptor.digest}`);
  assert(await s2.store.has(artifact.descriptor.digest));
  await putBlob(reg, "a/r", empty); // harmless: the registry has it
});

Deno.test("a pull that broke off keeps its partial download in ingest/ and the next pull continues it with Range", async () => {
  if (!(await haveRegistry("resume across runs"))) return;
  await using reg = await startRegistry();
  await using proxy = await startFaultProxy(reg.url);
  const img = await randomImage(60000);
  await pushBuiltImage(reg, "k/a", "1", img);
  const big = img.layers[0].descriptor;
  proxy.add({
    kind: "blob",
    method: "GET",
    path: new RegExp(big.digest),
    action: { cutAfter: 1000 },
  });
  await using s = await tempStore();
  await assertRejects(() =>
    pullImage(s.store, `${proxy.host}/k/a:1`, { client: clientOf(proxy, { maxResumes: 0 }) })
  );
  assertEquals((await s.store.listImages()).length, 0);
  assert(!(await s.store.has(big.digest)));
  const kept = [...Deno.readDirSync(`${s.dir}/ingest`)].map((e) => e.name);
  assertEquals(kept, [`r-sha256-${big.digest.slice(7)}`]);
  proxy.reset();
  const again = await pullImage(s.store, `${proxy.host}/k/a:1`, { client: clientOf(proxy) });
  assertEquals(again.blobs.resumed, 1);
  assertEquals(proxy.seen.filter((r) => r.range).map((r) => r.range), ["bytes=1000-"]);
  assertEquals(
    await readBlobBytes(s.store, big.digest, { maxJsonBytes: 1 << 24 }),
    img.layers[0].bytes,
  );
  assertEquals([...Deno.readDirSync(`${s.dir}/ingest`)].length, 0);
});

/** A proxy that stalls one blob's body after `after` bytes (never ends it). */
function stallingProxy(upstream: string, digest: string, after: number) {
  const ac = new AbortController();
  const seen: { path: string; range?: string }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      seen.push({ path: url.pathname, range: req.headers.get("range") ?? undefined });
      const headers = new Headers(req.headers);
      headers.delete("host");
      const r = await fetch(`${upstream}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body: req.body,
        redirect: "manual",
      });
      if (
        !url.pathname.endsWith(digest) || req.method !== "GET" || headers.has("range") || !r.body
      ) {
        return new Response(r.body, { status: r.status, headers: r.headers });
      }
      const bytes = new Uint8Array(await r.arrayBuffer());
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(bytes.slice(0, after));
          },
        }),
        { status: 200, headers: { "content-length": String(bytes.length) } },
      );
    },
  );
  return {
    host: `127.0.0.1:${server.addr.port}`,
    seen,
    async [Symbol.asyncDispose]() {
      ac.abort();
      await server.finished.catch(() => {});
    },
  };
}

Deno.test("a killed pull process: the next run adopts its partial download and continues it", async () => {
  if (!(await haveRegistry("killed pull"))) return;
  await using reg = await startRegistry();
  const big = await randomImage(60000);
  await pushBuiltImage(reg, "k/b", "1", big);
  const layer = big.layers[0].descriptor;
  await using proxy = stallingProxy(reg.url, layer.digest, 20000);
  const dir = await Deno.makeTempDir({ prefix: "lading-killed-" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../cli.ts", import.meta.url).pathname,
        "pull",
        "--plain-http",
        "--store",
        dir,
        `${proxy.host}/k/b:1`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const ingest = `${dir}/ingest`;
    let reached = false;
    for (let i = 0; i < 1200 && !reached; i++) {
      try {
        reached = [...Deno.readDirSync(ingest)].some((e) =>
          Deno.statSync(`${ingest}/${e.name}`).size >= 20000
        );
      } catch {
        // not there yet
      }
      if (!reached) await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    await child.status;
    assert(reached, "the pull never wrote its partial download");
    const store = await openFsStore(dir);
    try {
      // (Other blobs may have been mid-write too when the process died.)
      assert(
        [...Deno.readDirSync(ingest)].map((e) => e.name).includes(
          `r-sha256-${layer.digest.slice(7)}`,
        ),
        "the partial layer was not kept for resuming",
      );
      proxy.seen.length = 0;
      const r = await pullImage(store, `${proxy.host}/k/b:1`, { client: clientOf(proxy) });
      assert(r.blobs.resumed >= 1);
      assertEquals(
        proxy.seen.filter((x) => x.range && x.path.endsWith(layer.digest)).map((x) => x.range),
        ["bytes=20000-"],
      );
      assertEquals(
        await readBlobBytes(store, layer.digest, { maxJsonBytes: 1 << 20 }),
        big.layers[0].bytes,
      );
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registryImageSource(): a repository read in the store's roles (resolveImage, listImages, readers)", async () => {
  if (!(await haveRegistry("image source"))) return;
  await using reg = await startRegistry();
  const images = await twoPlatformImages();
  const index = await buildIndex(images);
  await pushBuiltIndex(reg, "src/a", "v1", images, index);
  const { registryImageSource } = await import("../../src/registry/repository.ts");
  const { resolveImage } = await import("../../src/image.ts");
  const source = registryImageSource(clientOf(reg), "src/a");
  const names = (await source.listImages()).map((r) => r.name);
  assertEquals(names, [`${reg.host}/src/a:v1`]);
  const resolved = await resolveImage(source, `${reg.host}/src/a:v1`, { platform: other });
  assertEquals(resolved.config.architecture, other.architecture);
  const layer = images[0].layers[0];
  assertEquals((await source.info(layer.descriptor.digest)).size, layer.descriptor.size);
  const tail = await new Response(await source.reader(layer.descriptor.digest, { offset: 10 }))
    .arrayBuffer();
  assertEquals(new Uint8Array(tail), layer.bytes.subarray(10));
  assert(await source.has(index.descriptor.digest));
  assert(!(await source.has(`sha256:${"0".repeat(64)}`)));
});

Deno.test("uploadBlob() in PATCH chunks: the registry assembles exactly the bytes", async () => {
  if (!(await haveRegistry("chunked upload"))) return;
  await using reg = await startRegistry();
  await using proxy = await startFaultProxy(reg.url);
  const img = await randomImage(50_000);
  const layer = img.layers[0];
  const c = clientOf(proxy);
  await c.uploadBlob("u/a", layer.descriptor, () => Promise.resolve(layer.bytes), {
    chunkSize: 16_384,
  });
  assertEquals(proxy.count({ kind: "upload", method: "PATCH" }), 4);
  assertEquals(await blobBytes(reg, "u/a", layer.descriptor.digest), layer.bytes);
  assert(await c.blobExists("u/a", layer.descriptor.digest));
});
