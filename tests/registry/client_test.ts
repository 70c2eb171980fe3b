/**
 * The registry client's rules, against an injected fake `fetch` (no network): auth
 * challenges and tokens, retries, redirects, Range resume, digests, schema 1 and size
 * caps, referrers fallback and tag pagination.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../assert.ts";
import { parseChallenges, TokenCache } from "../../src/registry/auth.ts";
import { RegistryClient } from "../../src/registry/client.ts";
import { retryAfterMs } from "../../src/registry/transport.ts";
import {
  DigestMismatchError,
  InvalidInputError,
  LimitExceededError,
  NotFoundError,
  RegistryError,
} from "../../src/errors.ts";
import { digestBytes } from "../../src/digest.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import type { Descriptor } from "../../src/types.ts";

interface Seen {
  method: string;
  url: string;
  headers: Headers;
  body?: string;
}

type Handler = (req: Seen, n: number) => Response | Promise<Response>;

/** A fake fetch that records every request and answers with `handler`. */
function fakeFetch(handler: Handler): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const f = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const body = typeof init.body === "string"
      ? init.body
      : init.body instanceof Uint8Array
      ? new TextDecoder().decode(init.body)
      : undefined;
    const req: Seen = {
      method: init.method ?? "GET",
      url: String(input),
      headers: new Headers(init.headers),
      body,
    };
    seen.push(req);
    return await handler(req, seen.length);
  };
  return { fetch: f as typeof fetch, seen };
}

const enc = new TextEncoder();
const noSleep = { sleep: () => Promise.resolve() };

function client(handler: Handler, options: Record<string, unknown> = {}) {
  const { fetch, seen } = fakeFetch(handler);
  const c = new RegistryClient("reg.test:5000", { fetch, plainHttp: true, ...noSleep, ...options });
  return { c, seen };
}

async function sha(bytes: Uint8Array) {
  return await digestBytes(await getRuntime(), bytes);
}

const manifestBody = enc.encode(JSON.stringify({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {
    mediaType: "application/vnd.oci.image.config.v1+json",
    digest: `sha256:${"a".repeat(64)}`,
    size: 2,
  },
  layers: [],
}));

function manifestResponse(bytes = manifestBody, headers: Record<string, string> = {}) {
  return new Response(bytes as BodyInit, {
    status: 200,
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json", ...headers },
  });
}

Deno.test("parseChallenges() reads Bearer and Basic challenges with quoted parameters", () => {
  const c = parseChallenges(
    'Bearer realm="https://auth.test/token",service="reg",scope="repository:a:pull,push",error="insufficient_scope", Basic realm="x"',
  );
  assertEquals(c.length, 2);
  assertEquals(c[0].scheme, "bearer");
  assertEquals(c[0].params.scope, "repository:a:pull,push");
  assertEquals(c[0].params.error, "insufficient_scope");
  assertEquals(c[1].scheme, "basic");
});

Deno.test("resolve() sends an Accept listing OCI index, OCI manifest, Docker list and Docker schema 2", async () => {
  const { c, seen } = client(() => manifestResponse());
  await c.resolve("a/b", "v1");
  const accept = seen[0].headers.get("accept")!;
  for (
    const t of [
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v2+json",
    ]
  ) assert(accept.includes(t), `Accept lacks ${t}`);
  assertEquals(seen[0].url, "http://reg.test:5000/v2/a/b/manifests/v1");
});

Deno.test("resolve() of a digest reference refuses a body that hashes to another digest", async () => {
  const { c } = client(() => manifestResponse());
  await assertRejects(
    () => c.resolve("a/b", `sha256:${"b".repeat(64)}`),
    DigestMismatchError,
    "hashes to",
  );
});

Deno.test("resolve() of a tag warns when Docker-Content-Digest disagrees with the body, and the body wins", async () => {
  const warnings: string[] = [];
  const { c } = client(
    () => manifestResponse(manifestBody, { "docker-content-digest": `sha256:${"c".repeat(64)}` }),
    { onWarning: (m: string) => warnings.push(m) },
  );
  const m = await c.resolve("a/b", "v1");
  assertEquals(m.descriptor.digest, await sha(manifestBody));
  assertEquals(warnings.length, 1);
  assertMatch(warnings[0], /Docker-Content-Digest/);
});

Deno.test("putManifest() accepts a Docker-Content-Digest equal to the digest of the bytes sent", async () => {
  const digest = await sha(manifestBody);
  const { c } = client(() =>
    new Response(null, { status: 201, headers: { "docker-content-digest": digest } })
  );
  const r = await c.putManifest("a/b", "v1", {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    bytes: manifestBody,
  });
  assertEquals(r.digest, digest);
});

Deno.test("putManifest() fails in one line when the registry answers another Docker-Content-Digest (it changed the manifest)", async () => {
  const other = `sha256:${"c".repeat(64)}`;
  const { c } = client(() =>
    new Response(null, { status: 201, headers: { "docker-content-digest": other } })
  );
  const e = await assertRejects(
    () =>
      c.putManifest("a/b", "v1", {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        bytes: manifestBody,
      }),
    DigestMismatchError,
    "the registry changed the manifest",
  );
  assertEquals(e.expected, await sha(manifestBody));
  assertEquals(e.actual, other);
  assert(!e.message.includes("\n"), e.message);
  assertMatch(e.message, new RegExp(`${other}.*${await sha(manifestBody)}`));
});

Deno.test("putManifest() without a Docker-Content-Digest answer still succeeds", async () => {
  const { c } = client(() => new Response(null, { status: 201 }));
  const r = await c.putManifest("a/b", "v1", {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    bytes: manifestBody,
  });
  assertEquals(r.digest, undefined);
});

Deno.test("resolve() refuses a schema 1 manifest with a clear message", async () => {
  const { c } = client(() =>
    new Response('{"schemaVersion":1,"name":"x","fsLayers":[]}', {
      headers: { "content-type": "application/vnd.docker.distribution.manifest.v1+prettyjws" },
    })
  );
  await assertRejects(() => c.resolve("a/b", "old"), InvalidInputError, "schema 1");
});

Deno.test("resolve() refuses a manifest over 4 MiB from Content-Length, before reading the body", async () => {
  let pulled = false;
  const { c } = client(() =>
    new Response(
      new ReadableStream({
        pull() {
          pulled = true;
        },
      }, { highWaterMark: 0 }),
      {
        headers: {
          "content-type": "application/vnd.oci.image.manifest.v1+json",
          "content-length": String(5 * 1024 * 1024),
        },
      },
    )
  );
  await assertRejects(() => c.resolve("a/b", "big"), LimitExceededError, "limit");
  assert(!pulled, "the body was read");
});

Deno.test("a missing manifest is a NotFoundError that says so", async () => {
  const { c } = client(() =>
    new Response('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', {
      status: 404,
    })
  );
  await assertRejects(() => c.resolve("a/b", "nope"), NotFoundError, "MANIFEST_UNKNOWN");
});

Deno.test("Basic auth: the challenge is answered with the host's credentials", async () => {
  const { c, seen } = client(
    (req) =>
      req.headers.get("authorization") === `Basic ${btoa("u:p")}`
        ? manifestResponse()
        : new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } }),
    {
      credentials: (host: string) =>
        Promise.resolve(host === "reg.test:5000" ? { username: "u", password: "p" } : undefined),
    },
  );
  await c.resolve("a/b", "v1");
  assertEquals(seen.length, 2);
  assert(!seen[0].headers.has("authorization"));
});

Deno.test("Basic auth without credentials fails saying there are none", async () => {
  const { c } = client(() =>
    new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } })
  );
  await assertRejects(() => c.resolve("a/b", "v1"), RegistryError, "no credentials");
});

function tokenRegistry(
  options: { expiresIn?: number; grant?: (scopes: string[]) => boolean } = {},
) {
  let issued = 0;
  return (req: Seen) => {
    const url = new URL(req.url);
    if (url.host === "auth.test") {
      issued++;
      const scopes = url.searchParams.getAll("scope");
      return Response.json({
        token: `t${issued}:${scopes.join(" ")}`,
        expires_in: options.expiresIn ?? 300,
      });
    }
    const auth = req.headers.get("authorization") ?? "";
    const challenge = (scope: string, error?: string) =>
      `Bearer realm="http://auth.test/token",service="reg",scope="${scope}"${
        error ? `,error="${error}"` : ""
      }`;
    const repo = url.pathname.split("/").slice(2, 4).join("/");
    const needed = req.method === "GET" || req.method === "HEAD"
      ? `repository:${repo}:pull`
      : `repository:${repo}:pull,push`;
    if (!auth.startsWith("Bearer ")) {
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": challenge(needed) },
      });
    }
    if (!auth.includes(needed)) {
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": challenge(needed, "insufficient_scope") },
      });
    }
    return manifestResponse();
  };
}

Deno.test("Bearer: an anonymous token is fetched from the realm with service and scope, then cached", async () => {
  const { c, seen } = client(tokenRegistry());
  await c.resolve("a/b", "v1");
  await c.resolve("a/b", "v2");
  const tokenRequests = seen.filter((s) => s.url.startsWith("http://auth.test/"));
  assertEquals(tokenRequests.length, 1, "the token was not cached");
  const u = new URL(tokenRequests[0].url);
  assertEquals(u.searchParams.get("service"), "reg");
  assertEquals(u.searchParams.get("scope"), "repository:a/b:pull");
  assert(!tokenRequests[0].headers.has("authorization"), "anonymous token request had credentials");
});

Deno.test("Bearer: a token past expires_in is requested again", async () => {
  let now = 0;
  const { fetch, seen } = fakeFetch(tokenRegistry({ expiresIn: 30 }));
  const c = new RegistryClient("reg.test:5000", {
    fetch,
    plainHttp: true,
    ...noSleep,
    now: () => now,
  });
  await c.resolve("a/b", "v1");
  now += 31_000;
  await c.resolve("a/b", "v1");
  assertEquals(seen.filter((s) => s.url.startsWith("http://auth.test/")).length, 2);
});

Deno.test("Bearer: insufficient_scope is retried once with the scope the registry names", async () => {
  const { c, seen } = client(tokenRegistry());
  await c.resolve("a/b", "v1"); // pull token
  await c.putManifest("a/b", "v1", {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    bytes: manifestBody,
  }).catch(() => {});
  const scopes = seen.filter((s) => s.url.startsWith("http://auth.test/")).map((s) =>
    new URL(s.url).searchParams.getAll("scope").join(" ")
  );
  assert(scopes.some((s) => s.includes("pull,push")), `no push scope asked: ${scopes}`);
});

Deno.test("Bearer: credentials go to the token server as Basic, for the registry's host only", async () => {
  const { c, seen } = client(tokenRegistry(), {
    credentials: (host: string) =>
      Promise.resolve(host === "reg.test:5000" ? { username: "u", password: "p" } : undefined),
  });
  await c.resolve("a/b", "v1");
  const t = seen.find((s) => s.url.startsWith("http://auth.test/"))!;
  assertEquals(t.headers.get("authorization"), `Basic ${btoa("u:p")}`);
  const registryRequests = seen.filter((s) => s.url.startsWith("http://reg.test:5000/"));
  assert(registryRequests.every((s) => !s.headers.get("authorization")?.startsWith("Basic")));
});

Deno.test("identity tokens: POST oauth2 refresh_token grant, with a GET fallback when POST is not allowed", async () => {
  const bodies: string[] = [];
  const { fetch, seen } = fakeFetch((req) => {
    if (req.method === "POST") {
      bodies.push(req.body ?? "");
      return new Response(null, { status: 405 });
    }
    return Response.json({ access_token: "tok" });
  });
  const tokens = new TokenCache({ fetch });
  const t = await tokens.token({
    realm: "http://auth.test/token",
    service: "reg",
    scopes: ["repository:a:pull"],
    credentials: { identityToken: "refresh-me" },
  });
  assertEquals(t, "tok");
  assertMatch(bodies[0], /grant_type=refresh_token/);
  assertMatch(bodies[0], /refresh_token=refresh-me/);
  // The GET carries the identity token as the Basic password, never in the URL.
  const get = seen.find((s) => s.method === "GET")!;
  assert(!get.url.includes("refresh-me"), get.url);
  assertEquals(get.headers.get("authorization"), `Basic ${btoa("<token>:refresh-me")}`);
});

Deno.test("retries: 503 then 200 is retried; 404 and 400 are not", async () => {
  const a = client((_r, n) => n === 1 ? new Response(null, { status: 503 }) : manifestResponse());
  await a.c.resolve("a/b", "v1");
  assertEquals(a.seen.length, 2);
  const b = client(() => new Response(null, { status: 400 }));
  await assertRejects(() => b.c.resolve("a/b", "v1"), RegistryError, "refused by the registry");
  assertEquals(b.seen.length, 1);
  const d = client(() => new Response(null, { status: 404 }));
  await assertRejects(() => d.c.resolve("a/b", "v1"), NotFoundError);
  assertEquals(d.seen.length, 1);
});

Deno.test("retries: 429 honours Retry-After, and network errors are retried", async () => {
  const waits: number[] = [];
  const { fetch, seen } = fakeFetch((_r, n) => {
    if (n === 1) return new Response(null, { status: 429, headers: { "retry-after": "7" } });
    if (n === 2) throw new TypeError("connection reset");
    return manifestResponse();
  });
  const c = new RegistryClient("reg.test:5000", {
    fetch,
    plainHttp: true,
    sleep: (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
  await c.resolve("a/b", "v1");
  assertEquals(seen.length, 3);
  assertEquals(waits[0], 7000);
  assertEquals(
    retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:58 GMT")),
    2000,
  );
});

Deno.test("retries give up after the limit with a message saying the registry is unreachable", async () => {
  const { c, seen } = client(() => {
    throw new TypeError("Connection refused");
  }, { retries: 2 });
  await assertRejects(() => c.resolve("a/b", "v1"), RegistryError, "cannot reach");
  assertEquals(seen.length, 3);
});

Deno.test("a network failure names its reason from the error's cause, without the request URL's query", async () => {
  const { c } = client(() => {
    throw new TypeError("fetch failed", {
      cause: new Error(
        "error sending request for url (http://reg.test:5000/v2/?secret=x): client error (Connect): tcp connect error: Connection refused (os error 111)",
      ),
    });
  }, { retries: 0 });
  const e = await assertRejects(() => c.resolve("a/b", "v1"), RegistryError);
  assertMatch(
    e.message,
    /cannot reach http:\/\/reg\.test:5000: tcp connect error: Connection refused/,
  );
  assert(!e.message.includes("fetch failed") && !e.message.includes("secret"), e.message);
});

Deno.test("a TLS error is not retried and not downgraded to http", async () => {
  const { fetch, seen } = fakeFetch(() => {
    throw new TypeError("invalid peer certificate: UnknownIssuer");
  });
  const c = new RegistryClient("reg.test:5000", { fetch, ...noSleep });
  await assertRejects(() => c.resolve("a/b", "v1"), RegistryError, "TLS");
  assertEquals(seen.length, 1);
  assert(seen[0].url.startsWith("https://"));
});

Deno.test("redirects are followed without Authorization", async () => {
  const blob = enc.encode("layer bytes");
  const digest = await sha(blob);
  const { c, seen } = client((req) => {
    if (req.url.startsWith("http://storage.test/")) return new Response(blob as BodyInit);
    if (!req.headers.get("authorization")) {
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="r"' },
      });
    }
    return new Response(null, {
      status: 307,
      headers: { location: "http://storage.test/signed?x=1" },
    });
  }, { credentials: () => Promise.resolve({ username: "u", password: "p" }) });
  const d: Descriptor = { mediaType: "application/octet-stream", digest, size: blob.byteLength };
  const got = new Uint8Array(await new Response(await c.fetchBlob("a/b", d)).arrayBuffer());
  assertEquals(got, blob);
  const storage = seen.find((s) => s.url.startsWith("http://storage.test/"))!;
  assertEquals(storage.headers.get("authorization"), null);
});

Deno.test("a redirect within the registry's origin keeps Authorization; one that leaves it drops it for good", async () => {
  const blob = enc.encode("layer bytes");
  const digest = await sha(blob);
  const { c, seen } = client((req) => {
    const u = new URL(req.url);
    if (!req.headers.get("authorization") && u.host === "reg.test:5000" && u.pathname !== "/back") {
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="r"' },
      });
    }
    if (u.pathname.includes("/blobs/")) {
      return new Response(null, { status: 307, headers: { location: "/moved" } });
    }
    if (u.pathname === "/moved") {
      return new Response(null, { status: 302, headers: { location: "http://other.test/x" } });
    }
    if (u.host === "other.test") {
      return new Response(null, {
        status: 302,
        headers: { location: "http://reg.test:5000/back" },
      });
    }
    return new Response(blob as BodyInit);
  }, { credentials: () => Promise.resolve({ username: "u", password: "p" }) });
  const d: Descriptor = { mediaType: "application/octet-stream", digest, size: blob.byteLength };
  assertEquals(new Uint8Array(await new Response(await c.fetchBlob("a/b", d)).arrayBuffer()), blob);
  const auth = (path: string) =>
    seen.find((s) => s.url.endsWith(path))?.headers.get("authorization") ?? null;
  assertEquals(auth("/moved"), `Basic ${btoa("u:p")}`, "same origin: kept");
  assertEquals(auth("other.test/x"), null, "another origin: dropped");
  assertEquals(auth("/back"), null, "and not given back after leaving");
});

function cutStream(bytes: Uint8Array, cutAt: number): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(c) {
      if (!sent) {
        sent = true;
        c.enqueue(bytes.slice(0, cutAt));
        return;
      }
      c.error(new TypeError("error reading a body from connection"));
    },
  });
}

Deno.test("a blob body cut mid-way resumes with Range: bytes=N-", async () => {
  const blob = enc.encode("0123456789abcdefghij");
  const digest = await sha(blob);
  const resumed: number[] = [];
  const { c, seen } = client((req, n) => {
    if (n === 1) return new Response(cutStream(blob, 8));
    const m = /bytes=(\d+)-/.exec(req.headers.get("range") ?? "")!;
    const from = Number(m[1]);
    return new Response(blob.slice(from) as BodyInit, {
      status: 206,
      headers: { "content-range": `bytes ${from}-${blob.length - 1}/${blob.length}` },
    });
  });
  const d: Descriptor = { mediaType: "application/octet-stream", digest, size: blob.byteLength };
  const s = await c.fetchBlob("a/b", d, { onResume: (o) => resumed.push(o) });
  assertEquals(new Uint8Array(await new Response(s).arrayBuffer()), blob);
  assertEquals(seen[1].headers.get("range"), "bytes=8-");
  assertEquals(resumed, [8]);
});

Deno.test("a server that ignores Range: the bytes already read are skipped", async () => {
  const blob = enc.encode("0123456789abcdefghij");
  const digest = await sha(blob);
  const { c } = client((_req, n) => new Response(n === 1 ? cutStream(blob, 5) : blob as BodyInit));
  const d: Descriptor = { mediaType: "application/octet-stream", digest, size: blob.byteLength };
  const s = await c.fetchBlob("a/b", d);
  assertEquals(new Uint8Array(await new Response(s).arrayBuffer()), blob);
});

Deno.test("tags() follows Link pagination", async () => {
  const { c, seen } = client((req) => {
    const u = new URL(req.url);
    if (!u.searchParams.get("last")) {
      return Response.json({ name: "a/b", tags: ["1", "2"] }, {
        headers: { link: '</v2/a/b/tags/list?n=2&last=2>; rel="next"' },
      });
    }
    return Response.json({ name: "a/b", tags: ["3"] });
  });
  assertEquals(await c.tags("a/b", { pageSize: 2 }), ["1", "2", "3"]);
  assertEquals(seen.length, 2);
});

Deno.test("referrers(): the API's index, else the sha256-<hex> fallback tag, which must be an index", async () => {
  const subject = `sha256:${"d".repeat(64)}` as const;
  const index = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: `sha256:${"e".repeat(64)}`,
      size: 10,
      artifactType: "application/example",
    }],
  }));
  const { c, seen } = client((req) => {
    if (req.url.includes("/referrers/")) return new Response("not found", { status: 404 });
    if (req.url.endsWith(`/manifests/sha256-${"d".repeat(64)}`)) {
      return new Response(index as BodyInit, {
        headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
      });
    }
    return new Response(null, { status: 404 });
  });
  const list = await c.referrers("a/b", subject);
  assertEquals(list.map((d) => d.artifactType), ["application/example"]);
  assertEquals(seen.length, 2);
  const bad = client((req) =>
    req.url.includes("/referrers/") ? new Response(null, { status: 404 }) : manifestResponse()
  );
  await assertRejects(() => bad.c.referrers("a/b", subject), InvalidInputError, "not an index");
});

Deno.test('referrers(): the API\'s answer in pages is followed through Link rel="next"', async () => {
  const subject = `sha256:${"d".repeat(64)}` as const;
  const page = (hex: string, link?: string) =>
    new Response(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [{
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: `sha256:${hex.repeat(64)}`,
          size: 10,
        }],
      }),
      {
        headers: {
          "content-type": "application/vnd.oci.image.index.v1+json",
          ...(link ? { link } : {}),
        },
      },
    );
  const { c, seen } = client((req) => {
    const u = new URL(req.url);
    if (!u.searchParams.get("page")) {
      // a relative link, with another relation first
      return page(
        "1",
        `</v2/a/b/referrers/${subject}?page=0>; rel="prev", </v2/a/b/referrers/${subject}?page=2>; rel="next"`,
      );
    }
    if (u.searchParams.get("page") === "2") {
      return page("2", `<http://reg.test:5000/v2/a/b/referrers/${subject}?page=3>; rel=next`);
    }
    return page("3");
  });
  const list = await c.referrers("a/b", subject);
  assertEquals(list.map((d) => d.digest[7]), ["1", "2", "3"]);
  assertEquals(seen.map((s) => new URL(s.url).searchParams.get("page")), [null, "2", "3"]);

  // Pages that link back, or never end, or stop being an index: a clear error, no partial list.
  const loop = client(() => page("1", `</v2/a/b/referrers/${subject}>; rel="next"`));
  await assertRejects(() => loop.c.referrers("a/b", subject), RegistryError, "link back");
  const endless = client((req) => {
    const n = Number(new URL(req.url).searchParams.get("page") ?? 0);
    return page("1", `</v2/a/b/referrers/${subject}?page=${n + 1}>; rel="next"`);
  });
  await assertRejects(
    () => endless.c.referrers("a/b", subject),
    RegistryError,
    "more than 1000 pages",
  );
  assertEquals(endless.seen.length, 1000);
  const broken = client((req) =>
    new URL(req.url).searchParams.get("page")
      ? Response.json({ nope: true })
      : page("1", `</v2/a/b/referrers/${subject}?page=2>; rel="next"`)
  );
  await assertRejects(
    () => broken.c.referrers("a/b", subject),
    RegistryError,
    "page 2 is not an OCI index",
  );
});

Deno.test("an upload location on another origin gets no Authorization", async () => {
  const blob = enc.encode("x");
  const digest = await sha(blob);
  const { c, seen } = client((req) => {
    if (!req.headers.get("authorization") && req.url.startsWith("http://reg.test:5000")) {
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="r"' },
      });
    }
    if (req.method === "POST") {
      return new Response(null, {
        status: 202,
        headers: { location: "http://elsewhere.test/upload/1" },
      });
    }
    return new Response(null, { status: 201 });
  }, { credentials: () => Promise.resolve({ username: "u", password: "p" }) });
  await c.uploadBlob(
    "a/b",
    { mediaType: "application/octet-stream", digest, size: 1 },
    () => Promise.resolve(blob),
  );
  const put = seen.find((s) => s.method === "PUT")!;
  assert(put.url.startsWith("http://elsewhere.test/upload/1?digest="));
  assertEquals(put.headers.get("authorization"), null);
});

Deno.test("a blob body that stalls is given up after the idle timeout and resumed with Range", async () => {
  const blob = enc.encode("0123456789abcdefghij");
  const digest = await sha(blob);
  const { c, seen } = client((req, n) => {
    if (n === 1) {
      return new Response(
        new ReadableStream({
          start(ctl) {
            ctl.enqueue(blob.slice(0, 4)); // then nothing, ever
          },
        }),
      );
    }
    const from = Number(/bytes=(\d+)-/.exec(req.headers.get("range")!)![1]);
    return new Response(blob.slice(from) as BodyInit, {
      status: 206,
      headers: { "content-range": `bytes ${from}-${blob.length - 1}/${blob.length}` },
    });
  }, { idleTimeoutMs: 30 });
  const d: Descriptor = { mediaType: "application/octet-stream", digest, size: blob.byteLength };
  const s = await c.fetchBlob("a/b", d);
  assertEquals(new Uint8Array(await new Response(s).arrayBuffer()), blob);
  assertEquals(seen[1].headers.get("range"), "bytes=4-");
});

Deno.test("a registry that does not answer a request is retried after the timeout", async () => {
  const { fetch, seen } = fakeFetch((_req, n) => {
    if (n > 1) return manifestResponse();
    return new Promise<Response>(() => {}); // never answers; the signal ends it
  });
  const signalled = ((input: RequestInfo | URL, init: RequestInit = {}) => {
    const answer = fetch(input, init);
    return new Promise<Response>((resolve, reject) => {
      init.signal?.addEventListener("abort", () => reject(init.signal!.reason));
      answer.then(resolve, reject);
    });
  }) as typeof globalThis.fetch;
  const c = new RegistryClient("reg.test:5000", {
    fetch: signalled,
    plainHttp: true,
    timeoutMs: 30,
    ...noSleep,
  });
  await c.resolve("a/b", "v1");
  assertEquals(seen.length, 2);
});

Deno.test("Bearer: a cached token the registry refuses is replaced once by a fresh one", async () => {
  let revoked = "";
  const base = tokenRegistry();
  const { c, seen } = client((req, _n) => {
    const auth = req.headers.get("authorization") ?? "";
    if (revoked && auth === revoked) {
      return new Response(null, {
        status: 401,
        headers: {
          "www-authenticate":
            'Bearer realm="http://auth.test/token",service="reg",scope="repository:a/b:pull"',
        },
      });
    }
    return base(req);
  });
  await c.resolve("a/b", "v1");
  revoked = seen.find((s) => s.headers.get("authorization")?.startsWith("Bearer"))!.headers.get(
    "authorization",
  )!;
  await c.resolve("a/b", "v1");
  assertEquals(seen.filter((s) => s.url.startsWith("http://auth.test/")).length, 2);
});
