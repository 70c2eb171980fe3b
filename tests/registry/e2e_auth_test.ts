/**
 * Authentication against the real registry: htpasswd Basic, Bearer tokens from a token
 * server (anonymous, password, identity tokens), the credential lookup order (`--user`,
 * docker config, containers auth.json), `login`/`logout`, and TLS with a private CA.
 * Credentials never show in output and never go to another host.
 */
import { assert, assertEquals } from "../assert.ts";
import { withTempDir } from "../export/_support.ts";
import {
  imagesOf,
  importImage,
  notPrinted,
  oneClearLine,
  type PullJson,
  sampleImage,
  visibleState,
  type World,
  world,
} from "./_cli.ts";
import {
  freePort,
  getManifest,
  haveRegistry,
  pushBuiltImage,
  type Registry,
  startFaultProxy,
  startRegistry,
  startTcpTap,
} from "./_registry.ts";

const TLS_WORDS = /certificate|tls|x509|unknown ?issuer|verify/i;
const AUTH_WORDS = /auth|401|credential|unauthori[sz]ed|denied|password/i;

async function writeDockerConfig(w: World, value: unknown): Promise<void> {
  await Deno.writeTextFile(`${w.env.DOCKER_CONFIG}/config.json`, JSON.stringify(value));
}

function basicAuths(reg: Registry): Record<string, { auth: string }> {
  return { [reg.host]: { auth: btoa(`${reg.username}:${reg.password}`) } };
}

Deno.test("basic auth: --user pushes and pulls; no or wrong credentials fail with one line", async () => {
  if (!(await haveRegistry("basic auth", { basic: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry({ auth: "basic" });
    const w = await world(dir);
    const image = await sampleImage([4000]);
    await importImage(w, "example.com/secure:1", image);
    const ref = `${reg.host}/secure:1`;

    const anon = await w.run(["push", "--plain-http", ref, "example.com/secure:1"], { code: 1 });
    assert(AUTH_WORDS.test(oneClearLine(anon)), anon.stderr);

    const wrong = await w.run(
      [
        "push",
        "--plain-http",
        "--user",
        `${reg.username}:not-the-password`,
        ref,
        "example.com/secure:1",
      ],
      { code: 1 },
    );
    assert(AUTH_WORDS.test(oneClearLine(wrong)), wrong.stderr);
    notPrinted(wrong, "not-the-password");
    // Not even --debug (the stack trace of the error) shows the password or its Basic form.
    const debug = await w.run(
      [
        "push",
        "--debug",
        "--plain-http",
        "--user",
        `${reg.username}:not-the-password`,
        ref,
        "example.com/secure:1",
      ],
      { code: 1 },
    );
    assert(debug.stderr.includes("authentication failed"), debug.stderr);
    notPrinted(debug, "not-the-password");
    notPrinted(debug, btoa(`${reg.username}:not-the-password`));

    const ok = await w.run(["push", ...reg.cliFlags(), "-q", ref, "example.com/secure:1"]);
    notPrinted(ok, reg.password!);
    assertEquals((await getManifest(reg, "secure", "1")).digest, image.manifest.descriptor.digest);

    const b = w.other("b");
    const before = await visibleState(b.store);
    const denied = await b.run(["pull", "--plain-http", ref], { code: 1 });
    assert(AUTH_WORDS.test(oneClearLine(denied)), denied.stderr);
    assertEquals(await visibleState(b.store), before);
    const pulled = await b.json<PullJson>(["pull", ...reg.cliFlags(), ref]);
    assertEquals(pulled.digest, image.manifest.descriptor.digest);
  });
});

Deno.test("credentials come from $DOCKER_CONFIG/config.json, then REGISTRY_AUTH_FILE; never sent to another host", async () => {
  if (!(await haveRegistry("credential lookup", { basic: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry({ auth: "basic" });
    await using open = await startRegistry();
    await using proxy = await startFaultProxy(open.url);
    const image = await sampleImage([3000]);
    await pushBuiltImage(reg, "lookup", "1", image);
    await pushBuiltImage(open, "lookup", "1", image);

    const w = await world(dir);
    await writeDockerConfig(w, { auths: basicAuths(reg) });
    const pulled = await w.json<PullJson>(["pull", "--plain-http", `${reg.host}/lookup:1`]);
    assertEquals(pulled.digest, image.manifest.descriptor.digest);

    // The same credentials file, a different host: nothing is sent there.
    await w.run(["pull", "--plain-http", "-q", `${proxy.host}/lookup:1`]);
    assert(proxy.seen.length > 0);
    assert(proxy.seen.every((s) => !s.authorization), "no Authorization to another host");

    // containers-auth.json is read when the docker config has nothing for the host.
    const v = w.other("v");
    await Deno.remove(`${w.env.DOCKER_CONFIG}/config.json`);
    await Deno.writeTextFile(w.env.REGISTRY_AUTH_FILE, JSON.stringify({ auths: basicAuths(reg) }));
    const viaAuthFile = await v.json<PullJson>(["pull", "--plain-http", `${reg.host}/lookup:1`]);
    assertEquals(viaAuthFile.digest, image.manifest.descriptor.digest);

    // --user wins over the files.
    const u = w.other("u");
    const r = await u.run(
      ["pull", "--plain-http", "--user", `${reg.username}:wrong`, `${reg.host}/lookup:1`],
      { code: 1 },
    );
    oneClearLine(r);
  });
});

Deno.test("login writes the docker config; logout removes it; a wrong password writes nothing", async () => {
  if (!(await haveRegistry("login and logout", { basic: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry({ auth: "basic" });
    const image = await sampleImage([1000]);
    await pushBuiltImage(reg, "login", "1", image);
    const w = await world(dir);
    const configFile = `${w.env.DOCKER_CONFIG}/config.json`;

    const bad = await w.run(
      ["login", "--plain-http", "--username", reg.username!, "--password-stdin", reg.host],
      { code: 1, stdin: new TextEncoder().encode("wrong-password\n") },
    );
    oneClearLine(
      bad,
      `Cannot log in to ${reg.host}`,
      "authentication failed",
      "refused the credentials",
    );
    notPrinted(bad, "wrong-password");
    const afterBad = await Deno.readTextFile(configFile).catch(() => "{}");
    assert(!afterBad.includes(reg.host), "a failed login records nothing");

    const ok = await w.run(
      ["login", "--plain-http", "--username", reg.username!, "--password-stdin", reg.host],
      { stdin: new TextEncoder().encode(`${reg.password}\n`) },
    );
    notPrinted(ok, reg.password!);
    const config = JSON.parse(await Deno.readTextFile(configFile));
    const entry = config.auths?.[reg.host];
    assert(entry, `config.json has an auths entry for ${reg.host}: ${JSON.stringify(config)}`);
    assert(
      entry.auth === btoa(`${reg.username}:${reg.password}`) ||
        typeof entry.identitytoken === "string",
      "the entry holds the credentials in the docker format",
    );
    if (Deno.build.os !== "windows") {
      assertEquals((await Deno.stat(configFile)).mode! & 0o077, 0, "config.json is private");
    }
    await w.run(["pull", "--plain-http", "-q", `${reg.host}/login:1`]);

    await w.run(["logout", reg.host]);
    const after = JSON.parse(await Deno.readTextFile(configFile));
    assertEquals(after.auths?.[reg.host], undefined);
    const denied = await w.other("again").run(["pull", "--plain-http", `${reg.host}/login:1`], {
      code: 1,
    });
    oneClearLine(denied);
  });
});

Deno.test("token auth: anonymous pull, authenticated push, one token per scope, wrong password refused", async () => {
  if (!(await haveRegistry("token auth", { token: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry({ auth: "token", token: { anonymousPull: true } });
    const tokens = reg.tokens!;
    const w = await world(dir);
    const image = await sampleImage([5000, 6000]);
    await importImage(w, "example.com/tok:1", image);
    const ref = `${reg.host}/tok/app:1`;

    const anonPush = await w.run(["push", "--plain-http", ref, "example.com/tok:1"], { code: 1 });
    assert(AUTH_WORDS.test(oneClearLine(anonPush)), anonPush.stderr);

    const wrong = await w.run(
      ["push", "--plain-http", "--user", `${reg.username}:nope-nope`, ref, "example.com/tok:1"],
      { code: 1 },
    );
    assert(AUTH_WORDS.test(oneClearLine(wrong)), wrong.stderr);
    // Said as what was being done, then what the token server answered.
    assert(
      /^lading: Cannot .* authentication failed: the token server .* 401/.test(wrong.stderr),
      wrong.stderr,
    );
    notPrinted(wrong, "nope-nope");

    await w.run(["push", ...reg.cliFlags(), "-q", ref, "example.com/tok:1"]);
    assertEquals((await getManifest(reg, "tok/app", "1")).digest, image.manifest.descriptor.digest);
    assert(
      tokens.requests.some((t) =>
        t.user === reg.username && t.granted.includes("repository:tok/app:pull,push")
      ),
      `push asked for pull,push: ${JSON.stringify(tokens.requests)}`,
    );

    tokens.requests.length = 0;
    const b = w.other("anon");
    const pulled = await b.json<PullJson>(["pull", "--plain-http", ref]);
    assertEquals(pulled.digest, image.manifest.descriptor.digest);
    assertEquals(
      tokens.requests.length,
      1,
      `one anonymous token serves the whole pull: ${JSON.stringify(tokens.requests)}`,
    );
    assertEquals(tokens.requests[0].user, undefined);
    assertEquals(tokens.requests[0].scopes, ["repository:tok/app:pull"]);
  });
});

Deno.test("token auth: an identity token from the docker config is exchanged with the POST oauth2 form", async () => {
  if (!(await haveRegistry("identity token", { token: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry({ auth: "token" });
    const tokens = reg.tokens!;
    const image = await sampleImage([1000]);
    await pushBuiltImage(reg, "idt", "1", image);
    const refresh = "refresh-for-lading-test";
    tokens.refreshTokens.set(refresh, reg.username!);
    const w = await world(dir);
    await writeDockerConfig(w, {
      auths: { [reg.host]: { auth: btoa(`${reg.username}:`), identitytoken: refresh } },
    });
    const r = await w.run(["pull", "--plain-http", "--json", `${reg.host}/idt:1`]);
    notPrinted(r, refresh);
    assertEquals((JSON.parse(r.stdout) as PullJson).digest, image.manifest.descriptor.digest);
    const post = tokens.requests.find((t) => t.method === "POST");
    assertEquals(post?.grantType, "refresh_token");
    assertEquals(post?.status, 200);
  });
});

Deno.test("token auth: a token server without the POST form still serves password logins over GET", async () => {
  if (!(await haveRegistry("oauth GET fallback", { token: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry({ auth: "token", token: { oauth: false } });
    const image = await sampleImage([1000]);
    await pushBuiltImage(reg, "getonly", "1", image);
    const w = await world(dir);
    const pulled = await w.json<PullJson>(["pull", ...reg.cliFlags(), `${reg.host}/getonly:1`]);
    assertEquals(pulled.digest, image.manifest.descriptor.digest);
    assert(reg.tokens!.requests.some((t) => t.method === "GET" && t.status === 200));
  });
});

Deno.test("TLS: a private CA via --tlscacert; without it the certificate is refused and nothing falls back to http", async () => {
  if (!(await haveRegistry("tls", { tls: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry({ tls: true });
    // Clients talk to the registry through a tap that sees how each connection starts.
    await using tap = startTcpTap(reg.port);
    const w = await world(dir);
    const image = await sampleImage([2000]);
    await importImage(w, "example.com/tls:1", image);
    const ref = `${tap.host}/tls:1`;

    const refused = await w.run(["push", ref, "example.com/tls:1"], { code: 1 });
    assert(TLS_WORDS.test(oneClearLine(refused)), refused.stderr);
    // The reason is named (Deno's own message is only "fetch failed").
    oneClearLine(refused, "certificate", "--tlscacert");
    assert(!/fetch failed/i.test(refused.stderr), refused.stderr);
    const b = w.other("b");
    const refusedPull = await b.run(["pull", ref], { code: 1 });
    assert(TLS_WORDS.test(oneClearLine(refusedPull)), refusedPull.stderr);
    assert(tap.connections.length > 0, "lading connected");
    assertEquals(
      tap.connections.filter((c) => c !== "tls"),
      [],
      "every connection was TLS: no fallback to http",
    );

    await w.run(["push", "--tlscacert", reg.caFile!, "-q", ref, "example.com/tls:1"]);
    const pulled = await b.json<PullJson>(["pull", "--tlscacert", reg.caFile!, ref]);
    assertEquals(pulled.digest, image.manifest.descriptor.digest);
    assertEquals((await imagesOf(b)).get(ref), image.manifest.descriptor.digest);
    assertEquals(tap.connections.filter((c) => c !== "tls"), []);

    const badCa = await b.run(["pull", "--tlscacert", `${dir}/no-such-ca.pem`, ref], { code: 1 });
    oneClearLine(badCa);

    // --plain-http against a TLS registry fails: it does not upgrade silently either.
    const plain = await b.other("c").run(["pull", "--plain-http", ref], { code: 1 });
    oneClearLine(plain);
    assert(tap.connections.some((c) => c.startsWith("GET /v2/")), "that one spoke plain http");
  });
});

Deno.test("TLS: https to a registry without TLS says so and points to --plain-http, at once (no retries); a closed port says connection refused", async () => {
  if (!(await haveRegistry("https to http"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using tap = startTcpTap(reg.port);
    const w = await world(dir);
    const r = await w.run(["pull", `${tap.host}/plain:1`], { code: 1 });
    oneClearLine(r, "TLS", "does not speak TLS", "--plain-http");
    assertEquals(tap.connections.length, 1, "a TLS failure is not retried");
    assertEquals(tap.connections[0], "tls", "and never falls back to http");
    assert(!(await Deno.stat(w.store).then(() => true, () => false)), "no store was created");

    const closed = freePort();
    const c = await w.run(["remote", "digest", "--plain-http", `127.0.0.1:${closed}/x:1`], {
      code: 1,
    });
    oneClearLine(c, "cannot reach", "connection refused");
  });
});

Deno.test("login on a terminal asks for the password without echoing it", async () => {
  if (!(await haveRegistry("password prompt", { basic: true }))) return;
  const haveScript = await new Deno.Command("script", { args: ["--version"], stdout: "null" })
    .output().then((o) => o.success, () => false);
  if (!haveScript) {
    if (Deno.env.get("CI") === "true") throw new Error("script (util-linux) is missing");
    console.log("%cskipped: script (util-linux) not found, no terminal to test", "color: yellow");
    return;
  }
  await withTempDir(async (dir) => {
    await using reg = await startRegistry({ auth: "basic" });
    const cli = new URL("../../cli.ts", import.meta.url).pathname;
    const command =
      `'${Deno.execPath()}' run -A '${cli}' login -u ${reg.username} --plain-http ${reg.host}`;
    // script(1) runs the command on a pseudo-terminal: what the terminal echoes is in stdout.
    const child = new Deno.Command("script", {
      args: ["-q", "-e", "-c", command, "/dev/null"],
      env: { DOCKER_CONFIG: `${dir}/docker`, NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    const decoder = new TextDecoder();
    let transcript = "";
    while (!transcript.includes("Password:")) {
      const { value, done } = await reader.read();
      if (done) break;
      transcript += decoder.decode(value, { stream: true });
    }
    // Typed after the prompt, so the terminal's own echo would show it.
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(`${reg.password}\r`));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      transcript += decoder.decode(value, { stream: true });
    }
    await w.close().catch(() => {});
    const status = await child.status;
    await child.stderr.cancel();
    assertEquals(status.code, 0, transcript);
    assert(transcript.includes("Login Succeeded"), transcript);
    assert(!transcript.includes(reg.password!), `the password was echoed: ${transcript}`);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/docker/config.json`));
    assertEquals(config.auths[reg.host].auth, btoa(`${reg.username}:${reg.password}`));
  });
});
