/**
 * The page's registry helpers (src/web/remote.ts): what the user types, requests through a
 * CORS proxy (against the real registry, behind a small proxy that takes `?url=`),
 * credentials for one host only, and plain words for a failure the browser hides.
 */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { RegistryError } from "../../src/errors.ts";
import { RegistryClient } from "../../src/registry/client.ts";
import { pullImage } from "../../src/registry/pull.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import {
  parseRemoteInput,
  plainRegistryError,
  proxiedFetch,
  proxiedUrl,
  typedCredentials,
} from "../../src/web/remote.ts";
import { haveRegistry, pushBuiltImage, startRegistry } from "../registry/_registry.ts";
import { sampleImage } from "../registry/_cli.ts";

Deno.test("parseRemoteInput() reads a registry URL or a reference; http:// means plain http", () => {
  assertEquals(parseRemoteInput(" http://127.0.0.1:5000/team/app:1 "), {
    host: "127.0.0.1:5000",
    ref: "127.0.0.1:5000/team/app:1",
    plainHttp: true,
  });
  assertEquals(parseRemoteInput("https://ghcr.io/o/r:v2").plainHttp, false);
  assertEquals(parseRemoteInput("ghcr.io/o/r@sha256:" + "a".repeat(64)).host, "ghcr.io");
  assertEquals(parseRemoteInput("alpine").host, "docker.io");
  assertThrows(() => parseRemoteInput("   "), TypeError);
  assertThrows(() => parseRemoteInput("http://127.0.0.1:5000/UPPER:1"), TypeError);
});

Deno.test("proxiedUrl() substitutes {url} encoded, or appends the URL", () => {
  assertEquals(
    proxiedUrl("https://p.example/?url={url}", "http://h:1/v2/x?y=1"),
    "https://p.example/?url=http%3A%2F%2Fh%3A1%2Fv2%2Fx%3Fy%3D1",
  );
  assertEquals(
    proxiedUrl("https://p.example/", "https://h/v2/"),
    "https://p.example/https://h/v2/",
  );
});

Deno.test("typedCredentials() answers only for its own host, and nothing without a user", async () => {
  const creds = typedCredentials("reg.example:5000", "me", "pw");
  assertEquals(await creds("reg.example:5000"), { username: "me", password: "pw" });
  assertEquals(await creds("other.example"), undefined);
  assertEquals(await typedCredentials("reg.example:5000", "", "pw")("reg.example:5000"), undefined);
});

Deno.test("plainRegistryError() calls a status-less network failure 'blocked by CORS or unreachable'", () => {
  const hidden = new RegistryError("Cannot fetch manifest: cannot reach http://h", undefined, {
    cause: new TypeError("Failed to fetch"),
  });
  assert(plainRegistryError(hidden, "h:1").startsWith("blocked by CORS or unreachable"));
  const refused = new RegistryError("Cannot fetch manifest x: refused by the registry (500)", 500);
  assertEquals(plainRegistryError(refused, "h:1"), refused.message);
});

Deno.test("a pull through a CORS proxy reaches the registry only through the proxy", async () => {
  if (!(await haveRegistry("pull through a CORS proxy"))) return;
  await using reg = await startRegistry();
  const image = await sampleImage([3000]);
  await pushBuiltImage(reg, "via/proxy", "1", image);
  const seen: string[] = [];
  const ac = new AbortController();
  const proxy = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      const target = new URL(req.url).searchParams.get("url")!;
      seen.push(target);
      return fetch(target, { method: req.method, headers: req.headers, redirect: "manual" });
    },
  );
  try {
    const client = new RegistryClient(reg.host, {
      plainHttp: true,
      fetch: proxiedFetch(`http://127.0.0.1:${proxy.addr.port}/?url={url}`),
    });
    const store = new MemoryStore();
    const r = await pullImage(store, `${reg.host}/via/proxy:1`, { client });
    assertEquals(r.digest, image.manifest.descriptor.digest);
    assert(seen.some((u) => u.endsWith(`/v2/via/proxy/manifests/1`)), JSON.stringify(seen));
    assert(seen.some((u) => u.endsWith(image.layers[0].descriptor.digest)));
  } finally {
    ac.abort();
    await proxy.finished;
  }
});
