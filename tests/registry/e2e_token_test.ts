/**
 * Bearer tokens against the real registry and the test token server: a token without the
 * scope a request needs (`insufficient_scope`), tokens whose `expires_in` runs out in the
 * middle of a long pull or push, and a token the registry refuses although it has not
 * expired by the client's clock.
 */
import { assert, assertEquals } from "../assert.ts";
import { RegistryClient } from "../../src/registry/client.ts";
import { pullImage, pushImage } from "../../src/registry/pull.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { sampleImage } from "./_cli.ts";
import {
  getManifest,
  haveRegistry,
  pushBuiltImage,
  type Registry,
  startRegistry,
} from "./_registry.ts";

function userClient(reg: Registry, options: { now?: () => number } = {}): RegistryClient {
  return new RegistryClient(reg.host, {
    plainHttp: true,
    credentials: () => Promise.resolve({ username: reg.username!, password: reg.password! }),
    ...options,
  });
}

Deno.test("token auth: a request whose token lacks the scope is answered insufficient_scope and retried once with the scope the registry names", async () => {
  if (!(await haveRegistry("insufficient_scope", { token: true }))) return;
  await using reg = await startRegistry({ auth: "token" });
  const image = await sampleImage([3000]);
  await pushBuiltImage(reg, "scoped/app", "1", image);
  const client = userClient(reg);
  // A request that asks for no scope at all: the first token grants nothing.
  const res = await client.transport.request({
    method: "GET",
    path: "/v2/scoped/app/manifests/1",
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    scopes: [],
    what: "fetch a manifest with a token of no scope",
  });
  assertEquals(res.status, 200);
  assertEquals(new Uint8Array(await res.arrayBuffer()), image.manifest.bytes);
  const asked = reg.tokens!.requests.map((t) => t.scopes);
  assertEquals(asked, [[], ["repository:scoped/app:pull"]], JSON.stringify(asked));
});

Deno.test("token auth: a pull and a push whose tokens expire on the way ask for new ones (expires_in honoured)", async () => {
  if (!(await haveRegistry("token expiry", { token: true }))) return;
  // Tokens say they live 60 s (the registry takes them for 60 s); the client's clock jumps
  // 45 s at every look, so every cached token runs out after one more use.
  await using reg = await startRegistry({ auth: "token", token: { expiresIn: 60 } });
  const image = await sampleImage([4000, 5000, 6000]);
  await pushBuiltImage(reg, "exp/src", "1", image);
  let clock = Date.now();
  const client = userClient(reg, { now: () => (clock += 45_000) });
  const store = new MemoryStore();
  reg.tokens!.requests.length = 0;
  const pulled = await pullImage(store, `${reg.host}/exp/src:1`, { client, concurrency: 1 });
  assertEquals(pulled.digest, image.manifest.descriptor.digest);
  const pullTokens = reg.tokens!.requests.length;
  assert(pullTokens >= 3, `the pull re-authenticated as tokens ran out: ${pullTokens} tokens`);
  await pushImage(store, pulled.name, { to: `${reg.host}/exp/dst:1`, client, concurrency: 1 });
  assertEquals((await getManifest(reg, "exp/dst", "1")).bytes, image.manifest.bytes);
  assert(reg.tokens!.requests.length - pullTokens >= 3, "so did the push");
  assert(reg.tokens!.requests.every((t) => t.status === 200));
});

Deno.test("token auth: a token the registry refuses before its expires_in (revoked, skewed clock) is replaced once by a fresh one", async () => {
  if (!(await haveRegistry("token refused early", { token: true }))) return;
  // The first token the pull gets is already expired for the registry (its `exp` is an hour
  // ago) while the answer says it lives 300 s.
  let refuseNext = false;
  await using reg = await startRegistry({
    auth: "token",
    token: {
      jwtExpiresIn: () => {
        if (!refuseNext) return 300;
        refuseNext = false;
        return -3600;
      },
    },
  });
  const image = await sampleImage([3000]);
  await pushBuiltImage(reg, "early/app", "1", image);
  refuseNext = true;
  reg.tokens!.requests.length = 0;
  const store = new MemoryStore();
  const pulled = await pullImage(store, `${reg.host}/early/app:1`, { client: userClient(reg) });
  assertEquals(pulled.digest, image.manifest.descriptor.digest);
  assertEquals(pulled.blobs.added, 3);
  const asked = reg.tokens!.requests.map((t) => t.scopes);
  assertEquals(
    asked,
    [["repository:early/app:pull"], ["repository:early/app:pull"]],
    `one refused token, one fresh, then the fresh one serves the pull: ${JSON.stringify(asked)}`,
  );
});
