/**
 * MemoryRegistry (`@lading/oci/testing`) answers the distribution API as the reference
 * registry does for what lading's client uses: pull and push through RegistryClient
 * (monolithic and chunked uploads, mounts, ranges, tag pages, referrers), and it refuses
 * what a registry refuses (a wrong digest, a manifest before its blobs, bad credentials).
 * Over HTTP (`Deno.serve`) skopeo copies an image out of it.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { MemoryRegistry } from "../../src/testing.ts";
import { RegistryClient } from "../../src/registry/client.ts";
import { copyImage, pullImage, pushImage } from "../../src/registry/pull.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { appendLayer, emptyImage, writeImage, writeIndex } from "../../src/build/image.ts";
import { listImageFiles } from "../../src/layers/files.ts";
import { digestBytes } from "../../src/digest.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import { RegistryError } from "../../src/errors.ts";
import { haveTools } from "../interop/_tools.ts";

async function storedImage(store: MemoryStore, name: string, content: string, arch = "amd64") {
  const draft = await appendLayer(
    store,
    emptyImage({ platform: { os: "linux", architecture: arch } }),
    {
      files: [{ path: "etc/motd", content }],
    },
  );
  return await writeImage(store, draft, { name });
}

Deno.test("MemoryRegistry: push then pull gives the same image, files and digests", async () => {
  const registry = new MemoryRegistry();
  const client = new RegistryClient("r.test", { fetch: registry.fetch });
  const store = new MemoryStore();
  const written = await storedImage(store, "app:1", "hello\n");
  await pushImage(store, "app:1", { to: "r.test/team/app:1", client });
  const other = new MemoryStore();
  const pulled = await pullImage(other, "r.test/team/app:1", { client });
  assertEquals(pulled.digest, written.descriptor.digest);
  assertEquals((await listImageFiles(other, pulled.name)).map((f) => f.path), ["etc", "etc/motd"]);
  assertEquals(await client.tags("team/app"), ["1"]);
});

Deno.test("MemoryRegistry: a multi-platform index needs its manifests first, and pulls whole", async () => {
  const registry = new MemoryRegistry();
  const client = new RegistryClient("r.test", { fetch: registry.fetch });
  const store = new MemoryStore();
  const a = await storedImage(store, "a:1", "amd64\n", "amd64");
  const b = await storedImage(store, "b:1", "arm64\n", "arm64");
  const index = await writeIndex(store, [a.descriptor, b.descriptor], { name: "multi:1" });
  await pushImage(store, "multi:1", { to: "r.test/multi:1", client });
  const other = new MemoryStore();
  const pulled = await pullImage(other, "r.test/multi:1", { client, allPlatforms: true });
  assertEquals(pulled.digest, index.descriptor.digest);
  // An index whose manifests were never pushed is refused, as distribution does.
  const bare = await readBytes(store, index.descriptor.digest);
  await assertRejects(
    () => client.putManifest("lonely", "1", { mediaType: index.descriptor.mediaType, bytes: bare }),
    RegistryError,
    "MANIFEST_UNKNOWN",
  );
});

async function readBytes(store: MemoryStore, digest: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(await store.reader(digest as never)).arrayBuffer());
}

Deno.test("MemoryRegistry: uploads are checked — a wrong digest and a manifest before its blobs are refused", async () => {
  const registry = new MemoryRegistry();
  const client = new RegistryClient("r.test", { fetch: registry.fetch });
  const bytes = new TextEncoder().encode("some blob");
  const digest = await digestBytes(await getRuntime(), bytes);
  const wrong = await digestBytes(await getRuntime(), new TextEncoder().encode("other"));
  await assertRejects(
    () =>
      client.uploadBlob(
        "x",
        { mediaType: "a/b", digest: wrong, size: 9 },
        () => Promise.resolve(bytes),
      ),
    RegistryError,
    "DIGEST_INVALID",
  );
  assertEquals(await client.blobExists("x", digest), false);
  // Chunked: PATCH pieces then PUT.
  await client.uploadBlob(
    "x",
    { mediaType: "a/b", digest, size: 9 },
    () => Promise.resolve(bytes),
    {
      chunkSize: 4,
    },
  );
  assertEquals(registry.requests.filter((r) => r.startsWith("PATCH")).length, 3);
  assertEquals(await client.blobExists("x", digest), true);
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: wrong, size: 5 },
    layers: [],
  }));
  await assertRejects(
    () =>
      client.putManifest("x", "1", {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        bytes: manifest,
      }),
    RegistryError,
    "MANIFEST_BLOB_UNKNOWN",
  );
});

Deno.test("MemoryRegistry: mounts across repositories, ranges, tag pages", async () => {
  const registry = new MemoryRegistry({ tagPageSize: 2 });
  const client = new RegistryClient("r.test", { fetch: registry.fetch });
  const bytes = new TextEncoder().encode("0123456789");
  const digest = await digestBytes(await getRuntime(), bytes);
  const d = { mediaType: "a/b", digest, size: 10 };
  await client.uploadBlob("one", d, () => Promise.resolve(bytes));
  assertEquals(await client.mountBlob("two", digest, "one"), { mounted: true });
  assertEquals((await client.mountBlob("three", digest, "nowhere")).mounted, false);
  const res = await registry.fetch(`http://r.test/v2/two/blobs/${digest}`, {
    headers: { range: "bytes=4-" },
  });
  assertEquals([res.status, await res.text()], [206, "456789"]);
  const store = new MemoryStore();
  await storedImage(store, "t:1", "x");
  for (const tag of ["c", "a", "d", "b", "e"]) {
    await pushImage(store, "t:1", { to: `r.test/t:${tag}`, client });
  }
  assertEquals(await client.tags("t"), ["a", "b", "c", "d", "e"]);
  assert(registry.requests.filter((r) => r.startsWith("GET /v2/t/tags/list")).length >= 3);
});

Deno.test("MemoryRegistry: referrers of a subject, filtered by artifact type", async () => {
  const registry = new MemoryRegistry();
  const client = new RegistryClient("r.test", { fetch: registry.fetch });
  const store = new MemoryStore();
  const image = await storedImage(store, "app:1", "x");
  await pushImage(store, "app:1", { to: "r.test/app:1", client });
  const empty = new TextEncoder().encode("{}");
  const emptyDigest = await digestBytes(await getRuntime(), empty);
  await client.uploadBlob("app", {
    mediaType: "application/vnd.oci.empty.v1+json",
    digest: emptyDigest,
    size: 2,
  }, () => Promise.resolve(empty));
  for (const type of ["application/vnd.example.sbom", "application/vnd.example.sig"]) {
    const bytes = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: type,
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: emptyDigest, size: 2 },
      layers: [],
      subject: image.descriptor,
    }));
    const put = await client.putManifest("app", await digestBytes(await getRuntime(), bytes), {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      bytes,
    });
    assert(put.subject, "OCI-Subject is answered");
  }
  const all = await client.referrers("app", image.descriptor.digest);
  assertEquals(all.length, 2);
  const sboms = await client.referrers("app", image.descriptor.digest, {
    artifactType: "application/vnd.example.sbom",
  });
  assertEquals(sboms.map((d) => d.artifactType), ["application/vnd.example.sbom"]);
});

Deno.test("MemoryRegistry: Basic auth — the right password passes, a wrong one is refused", async () => {
  const registry = new MemoryRegistry({ users: { me: "secret" } });
  const good = new RegistryClient("r.test", {
    fetch: registry.fetch,
    credentials: () => Promise.resolve({ username: "me", password: "secret" }),
  });
  await good.ping();
  const bad = new RegistryClient("r.test", {
    fetch: registry.fetch,
    credentials: () => Promise.resolve({ username: "me", password: "nope" }),
    retries: 0,
  });
  await assertRejects(() => bad.ping(), RegistryError);
  const store = new MemoryStore();
  await storedImage(store, "a:1", "x");
  await pushImage(store, "a:1", { to: "r.test/a:1", client: good });
  await copyImage("r.test/a:1", "r.test/b:1", { sourceClient: good });
  assertEquals(await good.tags("b"), ["1"]);
});

Deno.test("MemoryRegistry over HTTP: skopeo copies an image out of it", async () => {
  if (!(await haveTools("MemoryRegistry over HTTP with skopeo", "skopeo"))) return;
  const registry = new MemoryRegistry();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, registry.handle);
  const dir = await Deno.makeTempDir({ prefix: "lading-memreg-" });
  try {
    const host = `127.0.0.1:${server.addr.port}`;
    const store = new MemoryStore();
    const image = await storedImage(store, "a:1", "from memory\n");
    await pushImage(store, "a:1", {
      to: `${host}/a:1`,
      client: new RegistryClient(host, { plainHttp: true }),
    });
    const out = await new Deno.Command("skopeo", {
      args: ["copy", "--src-tls-verify=false", `docker://${host}/a:1`, `oci:${dir}/layout:a`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const index = JSON.parse(await Deno.readTextFile(`${dir}/layout/index.json`));
    assertEquals(index.manifests[0].digest, image.descriptor.digest);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
