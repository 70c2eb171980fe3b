/**
 * The registry harness itself: each mode of the real registry answers as distribution
 * does, the token server's tokens are trusted by the registry, and the fault proxy does
 * what its rules say. These run without lading's registry code, so a failure here points
 * at the harness, not at the client.
 */
import { assert, assertEquals } from "../assert.ts";
import { buildImage } from "../helpers/images.ts";
import {
  blobBytes,
  getManifest,
  haveRegistry,
  MANIFEST_ACCEPT,
  pushBuiltImage,
  startFaultProxy,
  startRegistry,
} from "./_registry.ts";

const image = () =>
  buildImage({ layers: [{ files: [{ path: "hello.txt", content: "hello registry\n" }] }] });

Deno.test("harness: a no-auth registry stores and serves an image, with CORS headers", async () => {
  if (!(await haveRegistry("harness no-auth"))) return;
  await using reg = await startRegistry({
    headers: { "Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": ["A", "B"] },
  });
  const img = await image();
  const digest = await pushBuiltImage(reg, "demo/app", "v1", img);
  assertEquals(digest, img.manifest.descriptor.digest);
  const m = await getManifest(reg, "demo/app", "v1");
  assertEquals(m.bytes, img.manifest.bytes);
  assertEquals(
    await blobBytes(reg, "demo/app", img.layers[0].descriptor.digest),
    img.layers[0].bytes,
  );
  const r = await reg.fetch("/v2/");
  await r.body?.cancel();
  assertEquals(r.headers.get("access-control-allow-origin"), "*");
  assertEquals(r.headers.get("access-control-expose-headers"), "A, B");
});

Deno.test("harness: basic auth refuses no credentials and a wrong password", async () => {
  if (!(await haveRegistry("harness basic", { basic: true }))) return;
  await using reg = await startRegistry({ auth: "basic" });
  const anon = await reg.fetch("/v2/");
  await anon.body?.cancel();
  assertEquals(anon.status, 401);
  assert(anon.headers.get("www-authenticate")?.startsWith("Basic"));
  const wrong = await reg.fetch("/v2/", {
    headers: { authorization: `Basic ${btoa(`${reg.username}:nope`)}` },
  });
  await wrong.body?.cancel();
  assertEquals(wrong.status, 401);
  const img = await image();
  assertEquals(await pushBuiltImage(reg, "x", "1", img), img.manifest.descriptor.digest);
});

Deno.test("harness: TLS registry is reachable only when its CA is trusted", async () => {
  if (!(await haveRegistry("harness tls", { tls: true }))) return;
  await using reg = await startRegistry({ tls: true });
  assert(reg.url.startsWith("https://"));
  const ok = await reg.fetch("/v2/");
  await ok.body?.cancel();
  assertEquals(ok.status, 200);
  let refused = false;
  try {
    const r = await fetch(`${reg.url}/v2/`);
    await r.body?.cancel();
  } catch {
    refused = true;
  }
  assert(refused, "a certificate from an unknown CA must be refused");
});

Deno.test("harness: token auth — the registry trusts the token server's x5c-signed tokens", async () => {
  if (!(await haveRegistry("harness token", { token: true }))) return;
  await using reg = await startRegistry({ auth: "token", token: { anonymousPull: true } });
  const ch = await reg.fetch("/v2/demo/manifests/v1", { headers: { accept: MANIFEST_ACCEPT } });
  await ch.body?.cancel();
  assertEquals(ch.status, 401);
  const challenge = ch.headers.get("www-authenticate") ?? "";
  assert(challenge.includes(`realm="${reg.tokens!.realm}"`), challenge);
  assert(challenge.includes('scope="repository:demo:pull"'), challenge);

  const img = await image();
  assertEquals(await pushBuiltImage(reg, "demo", "v1", img), img.manifest.descriptor.digest);

  // GET with Basic credentials
  const get = await fetch(
    `${reg.tokens!.realm}?service=${reg.tokens!.service}&scope=repository:demo:pull`,
    { headers: { authorization: `Basic ${btoa(`${reg.username}:${reg.password}`)}` } },
  );
  const { token } = await get.json();
  const m = await reg.fetch("/v2/demo/manifests/v1", {
    headers: { accept: MANIFEST_ACCEPT, authorization: `Bearer ${token}` },
  });
  assertEquals(new Uint8Array(await m.arrayBuffer()), img.manifest.bytes);

  // anonymous: pull granted, push not
  const anon = await fetch(
    `${reg.tokens!.realm}?service=${reg.tokens!.service}&scope=repository:demo:pull,push`,
  );
  const anonToken = (await anon.json()).token;
  assertEquals(reg.tokens!.requests.at(-1)!.granted, ["repository:demo:pull"]);
  const push = await reg.fetch("/v2/demo/blobs/uploads/", {
    method: "POST",
    headers: { authorization: `Bearer ${anonToken}` },
  });
  await push.body?.cancel();
  assertEquals(push.status, 401);

  // POST oauth2: password grant with offline access, then refresh_token grant
  const form = (f: Record<string, string>) =>
    fetch(reg.tokens!.realm, { method: "POST", body: new URLSearchParams(f) });
  const pw = await form({
    grant_type: "password",
    username: reg.username!,
    password: reg.password!,
    service: reg.tokens!.service,
    client_id: "lading-test",
    access_type: "offline",
    scope: "repository:demo:pull",
  });
  const pwBody = await pw.json();
  assert(pwBody.refresh_token, "offline access returns a refresh token");
  const rf = await form({
    grant_type: "refresh_token",
    refresh_token: pwBody.refresh_token,
    service: reg.tokens!.service,
    client_id: "lading-test",
    scope: "repository:demo:pull",
  });
  assertEquals(rf.status, 200);
  await rf.body?.cancel();
  const bad = await form({
    grant_type: "password",
    username: reg.username!,
    password: "wrong",
    service: reg.tokens!.service,
  });
  await bad.body?.cancel();
  assertEquals(bad.status, 401);
});

Deno.test("harness: the fault proxy cuts, fails once, corrupts and redirects without Authorization", async () => {
  if (!(await haveRegistry("harness proxy"))) return;
  await using reg = await startRegistry();
  await using proxy = await startFaultProxy(reg.url);
  const big = await buildImage({
    layers: [{
      compression: "none",
      files: [{ path: "big.bin", content: crypto.getRandomValues(new Uint8Array(60000)) }],
    }],
  });
  await pushBuiltImage(reg, "p", "1", big);
  const layer = big.layers[0].descriptor;
  const blobUrl = `${proxy.url}/v2/p/blobs/${layer.digest}`;

  proxy.add({ kind: "blob", times: 1, action: { respond: { status: 503 } } });
  const r503 = await fetch(blobUrl);
  await r503.body?.cancel();
  assertEquals(r503.status, 503);
  const ok = await fetch(blobUrl);
  assertEquals(new Uint8Array(await ok.arrayBuffer()), big.layers[0].bytes);

  proxy.reset();
  proxy.add({ kind: "blob", times: 1, action: { cutAfter: 1000 } });
  let cut = false;
  try {
    await (await fetch(blobUrl)).arrayBuffer();
  } catch {
    cut = true;
  }
  assert(cut, "the body is cut mid-way");
  const ranged = await fetch(blobUrl, { headers: { range: "bytes=1000-" } });
  assertEquals(ranged.status, 206);
  assertEquals(new Uint8Array(await ranged.arrayBuffer()), big.layers[0].bytes.slice(1000));

  proxy.add({ kind: "blob", times: 1, action: { ignoreRange: true } });
  const full = await fetch(blobUrl, { headers: { range: "bytes=1000-" } });
  assertEquals(full.status, 200);
  assertEquals((await full.arrayBuffer()).byteLength, layer.size);

  proxy.add({ kind: "blob", times: 1, action: { corrupt: true } });
  const bad = new Uint8Array(await (await fetch(blobUrl)).arrayBuffer());
  assertEquals(bad.byteLength, layer.size);
  assert(bad[0] !== big.layers[0].bytes[0]);

  proxy.add({ kind: "blob", times: 1, action: { redirect: true } });
  const red = await fetch(blobUrl, { headers: { authorization: "Bearer secret" } });
  assertEquals(new Uint8Array(await red.arrayBuffer()), big.layers[0].bytes);
  assertEquals(proxy.redirected.length, 1);
  assertEquals(proxy.redirected[0].authorization, false, "fetch drops Authorization cross-origin");
  assertEquals(proxy.count({ kind: "blob", method: "GET" }), 5, "seen since reset()");
});
