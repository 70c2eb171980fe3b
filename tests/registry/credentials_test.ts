/**
 * Where the CLI finds registry credentials (`--user`, the docker config with helpers,
 * stores and auths, then the containers auth file), and `lading login` / `logout`
 * against a real Basic-auth registry.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../assert.ts";
import {
  credentialHelper,
  lookupCredentials,
  removeLogin,
  saveLogin,
} from "../../src/deno/registry_credentials.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { buildImage } from "../helpers/images.ts";
import { haveRegistry, pushBuiltImage, startRegistry } from "./_registry.ts";

function envOf(vars: Record<string, string>) {
  return { env: { env: (name: string) => vars[name] } };
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "lading-creds-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const b64 = (s: string) => btoa(s);

Deno.test("credentials: docker config auths (auth, username/password, identitytoken), by host", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({
        auths: {
          "reg.a:5000": { auth: b64("alice:pw:with:colons") },
          "https://reg.b": { username: "bob", password: "bpw" },
          "reg.c": { identitytoken: "refresh" },
          "https://index.docker.io/v1/": { auth: b64("hub:hpw") },
        },
      }),
    );
    const e = envOf({ DOCKER_CONFIG: dir });
    assertEquals(await lookupCredentials("reg.a:5000", e), {
      username: "alice",
      password: "pw:with:colons",
    });
    assertEquals(await lookupCredentials("reg.b", e), { username: "bob", password: "bpw" });
    assertEquals(await lookupCredentials("reg.c", e), { identityToken: "refresh" });
    assertEquals(await lookupCredentials("docker.io", e), { username: "hub", password: "hpw" });
    assertEquals(await lookupCredentials("reg.other", e), undefined);
  });
});

Deno.test("credentials: credHelpers win over credsStore, which wins over auths; then the containers auth file", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({
        credHelpers: { "reg.h": "pass" },
        credsStore: "desktop",
        auths: { "reg.h": { auth: b64("auths:x") }, "reg.s": { auth: b64("auths:y") } },
      }),
    );
    await Deno.writeTextFile(
      `${dir}/auth.json`,
      JSON.stringify({ auths: { "reg.p": { auth: b64("podman:z") } } }),
    );
    const calls: string[] = [];
    const helper = (name: string, host: string) => {
      calls.push(`${name} ${host}`);
      if (name === "pass" && host === "reg.h") {
        return Promise.resolve({ username: "helper", password: "h" });
      }
      if (name === "desktop" && host === "reg.s") {
        return Promise.resolve({ identityToken: "from-store" });
      }
      return Promise.resolve(undefined);
    };
    const e = envOf({ DOCKER_CONFIG: dir, REGISTRY_AUTH_FILE: `${dir}/auth.json` });
    assertEquals(await lookupCredentials("reg.h", { ...e, helper }), {
      username: "helper",
      password: "h",
    });
    assertEquals(await lookupCredentials("reg.s", { ...e, helper }), {
      identityToken: "from-store",
    });
    assertEquals(await lookupCredentials("reg.p", { ...e, helper }), {
      username: "podman",
      password: "z",
    });
    assert(calls.includes("pass reg.h"));
  });
});

Deno.test("credentials: $XDG_RUNTIME_DIR/containers/auth.json when there is no docker config", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/containers`);
    await Deno.writeTextFile(
      `${dir}/containers/auth.json`,
      JSON.stringify({ auths: { "reg.x": { auth: b64("u:p") } } }),
    );
    const e = envOf({ HOME: `${dir}/nohome`, XDG_RUNTIME_DIR: dir });
    assertEquals(await lookupCredentials("reg.x", e), { username: "u", password: "p" });
  });
});

Deno.test("credentials: a broken config file is a clear error", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/config.json`, "{nope");
    await assertRejects(
      () => lookupCredentials("reg.a", envOf({ DOCKER_CONFIG: dir })),
      InvalidInputError,
      "not valid JSON",
    );
  });
});

Deno.test("credentials: docker-credential-<name> get is run with the host on stdin", async () => {
  await withDir(async (dir) => {
    const script = `${dir}/docker-credential-fake`;
    await Deno.writeTextFile(
      script,
      '#!/bin/sh\nread host\nif [ "$host" = reg.t ]; then echo \'{"ServerURL":"reg.t","Username":"<token>","Secret":"idt"}\'; else echo "credentials not found in native keychain"; exit 1; fi\n',
    );
    await Deno.chmod(script, 0o755);
    const path = Deno.env.get("PATH") ?? "";
    Deno.env.set("PATH", `${dir}:${path}`);
    try {
      assertEquals(await credentialHelper("fake", "reg.t"), { identityToken: "idt" });
      assertEquals(await credentialHelper("fake", "reg.u"), undefined);
      await assertRejects(() => credentialHelper("absent-helper", "reg.t"), InvalidInputError);
    } finally {
      Deno.env.set("PATH", path);
    }
  });
});

Deno.test("saveLogin() writes auths[host].auth with mode 0600 and keeps other settings; removeLogin() removes it", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ psFormat: "table" }));
    const e = envOf({ DOCKER_CONFIG: dir });
    await saveLogin("reg.a:5000", { username: "u", password: "p" }, e);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    assertEquals(config.psFormat, "table");
    assertEquals(config.auths["reg.a:5000"], { auth: b64("u:p") });
    assertEquals((await Deno.stat(`${dir}/config.json`)).mode! & 0o777, 0o600);
    assertEquals(await removeLogin("reg.a:5000", e), true);
    assertEquals(await removeLogin("reg.a:5000", e), false);
    // Docker Hub's entry goes where docker writes it, and the lookup finds it there.
    await saveLogin("docker.io", { username: "hub", password: "h" }, e);
    const hub = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    assertEquals(Object.keys(hub.auths), ["https://index.docker.io/v1/"]);
    assertEquals(await lookupCredentials("docker.io", e), { username: "hub", password: "h" });
    assertEquals(await removeLogin("docker.io", e), true);
  });
});

async function lading(args: string[], env: Record<string, string>, stdin?: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("lading login checks the password with the registry, saves it, and pull uses it; logout removes it", async () => {
  if (!(await haveRegistry("login", { basic: true }))) return;
  await using reg = await startRegistry({ auth: "basic" });
  const img = await buildImage({ layers: [{ files: [{ path: "a", content: "a\n" }] }] });
  await pushBuiltImage(reg, "l/a", "1", img);
  await withDir(async (dir) => {
    const env = {
      DOCKER_CONFIG: `${dir}/docker`,
      REGISTRY_AUTH_FILE: `${dir}/none.json`,
      LADING_STORE: `${dir}/store`,
    };
    const bad = await lading(
      ["login", "--plain-http", "--username", reg.username!, "--password-stdin", reg.host],
      env,
      "wrong\n",
    );
    assertEquals(bad.code, 1);
    assertMatch(bad.stderr, /authentication failed/);
    assertEquals(bad.stderr.trim().split("\n").length, 1);
    assert(!bad.stderr.includes("wrong"), "the password was printed");
    const denied = await lading(["pull", "--plain-http", `${reg.host}/l/a:1`], env);
    assertEquals(denied.code, 1);
    assertMatch(denied.stderr, /no credentials/);
    const ok = await lading(
      ["login", "--plain-http", "--username", reg.username!, "--password-stdin", reg.host],
      env,
      `${reg.password}\n`,
    );
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals((await Deno.stat(`${dir}/docker/config.json`)).mode! & 0o777, 0o600);
    const pulled = await lading(["pull", "--plain-http", "--json", `${reg.host}/l/a:1`], env);
    assertEquals(pulled.code, 0, pulled.stderr);
    assertEquals(JSON.parse(pulled.stdout).digest, img.manifest.descriptor.digest);
    assert(!pulled.stderr.includes(reg.password!));
    const out = await lading(["logout", reg.host], env);
    assertEquals(out.code, 0, out.stderr);
    assertEquals(out.stderr, `Removed login credentials for ${reg.host}\n`);
    // Like docker: logging out twice is not an error, but the second one says so.
    const again = await lading(["logout", reg.host], env);
    assertEquals(again.code, 0, again.stderr);
    assertEquals(again.stderr, `Not logged in to ${reg.host}\n`);
    const againJson = await lading(["logout", "--json", reg.host], env);
    assertEquals(againJson.code, 0, againJson.stderr);
    assertEquals(JSON.parse(againJson.stdout), { host: reg.host, removed: false });
    assertEquals((await lading(["pull"], env)).code, 2);
  });
});
