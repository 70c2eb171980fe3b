/**
 * Deno only: registry credentials on a host, looked up in this order (first hit wins):
 * 1. `--user USER:PASS`;
 * 2. `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: `credHelpers[host]`,
 *    then `credsStore` (both through `docker-credential-<name> get`), then `auths[host]`
 *    (`auth` = base64 `user:pass`, or `username`/`password`, or `identitytoken`);
 * 3. `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json` (`auths`).
 *
 * `lading login` writes the docker config format (mode 0600). Credentials are never
 * printed.
 * @module
 */
import type { Credentials } from "../registry/auth.ts";
import { InvalidInputError } from "../errors.ts";

/** Where credentials are looked up (the environment, injectable for tests). */
export interface CredentialEnv {
  /** The value of an environment variable, or undefined. */
  env(name: string): string | undefined;
}

/** Options of {@link lookupCredentials}, {@link saveLogin} and {@link removeLogin}. */
export interface CredentialOptions {
  /**
   * The environment the config files are found with (`DOCKER_CONFIG`, `HOME`,
   * `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`); default: the process environment.
   */
  readonly env?: CredentialEnv;
  /** Runs a docker credential helper (default {@link credentialHelper}). */
  readonly helper?: (helper: string, host: string) => Promise<Credentials | undefined>;
}

const processEnv: CredentialEnv = { env: (name) => Deno.env.get(name) };

/** The keys a host may have in an `auths` map (Docker Hub's legacy URL included). */
export function authKeys(host: string): string[] {
  const keys = [
    host,
    `https://${host}`,
    `http://${host}`,
    `https://${host}/v1/`,
    `https://${host}/v2/`,
  ];
  if (host === "docker.io" || host === "registry-1.docker.io" || host === "index.docker.io") {
    keys.unshift(
      "https://index.docker.io/v1/",
      "index.docker.io",
      "docker.io",
      "registry-1.docker.io",
    );
  }
  return keys;
}

/** The docker config file: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
export function dockerConfigPath(e: CredentialEnv): string | undefined {
  const dir = e.env("DOCKER_CONFIG");
  if (dir) return `${dir}/config.json`;
  const home = e.env("HOME");
  return home ? `${home}/.docker/config.json` : undefined;
}

/** The containers auth file: `$REGISTRY_AUTH_FILE` or `$XDG_RUNTIME_DIR/containers/auth.json`. */
export function containersAuthPath(e: CredentialEnv): string | undefined {
  const file = e.env("REGISTRY_AUTH_FILE");
  if (file) return file;
  const run = e.env("XDG_RUNTIME_DIR");
  return run ? `${run}/containers/auth.json` : undefined;
}

async function readJsonFile(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw e;
  }
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" ? v : undefined;
  } catch {
    throw new InvalidInputError(`Cannot read credentials: ${path} is not valid JSON`);
  }
}

function fromAuthEntry(entry: unknown, where: string): Credentials | undefined {
  if (!entry || typeof entry !== "object") return undefined;
  const e = entry as Record<string, unknown>;
  if (typeof e.identitytoken === "string" && e.identitytoken) {
    return { identityToken: e.identitytoken };
  }
  if (typeof e.auth === "string" && e.auth) {
    let decoded: string;
    try {
      decoded = new TextDecoder().decode(Uint8Array.from(atob(e.auth), (c) => c.charCodeAt(0)));
    } catch {
      throw new InvalidInputError(
        `Cannot read credentials: an "auth" entry in ${where} is not base64`,
      );
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) {
      throw new InvalidInputError(
        `Cannot read credentials: an "auth" entry in ${where} has no ':'`,
      );
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof e.username === "string" && typeof e.password === "string") {
    return { username: e.username, password: e.password };
  }
  return undefined;
}

/**
 * Runs `docker-credential-<helper> get` for a host (the program reads the host on stdin
 * and answers JSON). `undefined` when the helper has nothing for the host.
 *
 * @throws {InvalidInputError} when the helper is not installed, fails or does not answer JSON.
 *
 * @example
 * ```ts
 * import { credentialHelper } from "@lading/oci/fs";
 * import { InvalidInputError } from "@lading/oci";
 * try {
 *   console.log(await credentialHelper("osxkeychain", "ghcr.io")); // { username, password } or undefined
 * } catch (e) {
 *   if (!(e instanceof InvalidInputError)) throw e;
 *   console.log(e.message); // ... the credential helper docker-credential-osxkeychain is not installed
 * }
 * ```
 */
export async function credentialHelper(
  helper: string,
  host: string,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  let out: Deno.CommandOutput;
  try {
    const child = new Deno.Command(program, {
      args: ["get"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(host));
    await w.close();
    out = await child.output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InvalidInputError(
        `Cannot read credentials for ${host}: the credential helper ${program} is not installed`,
      );
    }
    throw e;
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    if (/not found/i.test(text) || /not found/i.test(new TextDecoder().decode(out.stderr))) {
      return undefined;
    }
    throw new InvalidInputError(`Cannot read credentials for ${host}: ${program} get failed`);
  }
  let v: { Username?: unknown; Secret?: unknown };
  try {
    v = JSON.parse(text);
  } catch {
    throw new InvalidInputError(
      `Cannot read credentials for ${host}: ${program} did not answer JSON`,
    );
  }
  if (typeof v.Secret !== "string") return undefined;
  if (v.Username === "<token>") return { identityToken: v.Secret };
  return { username: typeof v.Username === "string" ? v.Username : "", password: v.Secret };
}

/**
 * Looks up the credentials of a registry host in the docker config and the containers
 * auth file (see the module doc for the order), as `docker`, `skopeo` and `crane` do.
 * Pass it as the `credentials` option of `RegistryClient`.
 *
 * @example
 * ```ts
 * import { lookupCredentials, saveLogin } from "@lading/oci/fs";
 * import { RegistryClient } from "@lading/oci";
 * const dir = await Deno.makeTempDir();
 * const env = { env: (name: string) => (name === "DOCKER_CONFIG" ? dir : undefined) };
 * await saveLogin("registry.example.com", { username: "me", password: "secret" }, { env });
 * console.log(await lookupCredentials("registry.example.com", { env })); // { username: "me", password: "secret" }
 * // Without `env`, the process environment: ~/.docker/config.json and the containers auth file.
 * const client = new RegistryClient("registry.example.com", {
 *   credentials: (host) => lookupCredentials(host, { env }),
 * });
 * console.log(client.host); // registry.example.com
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lookupCredentials(
  host: string,
  options: CredentialOptions = {},
): Promise<Credentials | undefined> {
  const e = options.env ?? processEnv;
  const helper = options.helper ?? credentialHelper;
  const keys = authKeys(host);
  const dockerPath = dockerConfigPath(e);
  const docker = dockerPath ? await readJsonFile(dockerPath) : undefined;
  if (docker) {
    const helpers = docker.credHelpers as Record<string, unknown> | undefined;
    for (const k of keys) {
      const h = helpers?.[k];
      if (typeof h === "string" && h) {
        const c = await helper(h, k);
        if (c) return c;
      }
    }
    if (typeof docker.credsStore === "string" && docker.credsStore) {
      for (const k of keys) {
        const c = await helper(docker.credsStore, k);
        if (c) return c;
      }
    }
    const auths = docker.auths as Record<string, unknown> | undefined;
    for (const k of keys) {
      const c = fromAuthEntry(auths?.[k], dockerPath!);
      if (c) return c;
    }
  }
  const containersPath = containersAuthPath(e);
  const containers = containersPath ? await readJsonFile(containersPath) : undefined;
  const auths = containers?.auths as Record<string, unknown> | undefined;
  for (const k of keys) {
    const c = fromAuthEntry(auths?.[k], containersPath!);
    if (c) return c;
  }
  return undefined;
}

/** The `auths` key `login` writes for a host (Docker Hub: its legacy URL, as docker does). */
export function loginKey(host: string): string {
  return host === "docker.io" ? "https://index.docker.io/v1/" : host;
}

/** Writes a JSON file atomically with mode 0600 (creating its directory 0700). */
async function writePrivateJson(path: string, value: unknown): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || ".";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, JSON.stringify(value, null, "\t") + "\n", { mode: 0o600 });
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}

/**
 * Records credentials for a host in the docker config (`auths[host].auth`, the file written
 * atomically with mode 0600, its other settings kept), as `docker login` does. Returns the
 * file.
 *
 * @example
 * ```ts
 * import { saveLogin } from "@lading/oci/fs";
 * const dir = await Deno.makeTempDir();
 * const env = { env: (name: string) => (name === "DOCKER_CONFIG" ? dir : undefined) };
 * const file = await saveLogin("registry.example.com", { username: "me", password: "secret" }, { env });
 * console.log(file === `${dir}/config.json`, (await Deno.stat(file)).mode! & 0o777); // true 384
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveLogin(
  host: string,
  credentials: { username: string; password: string },
  options: CredentialOptions = {},
): Promise<string> {
  const e = options.env ?? processEnv;
  const path = dockerConfigPath(e);
  if (!path) {
    throw new InvalidInputError("Cannot log in: no DOCKER_CONFIG or HOME to hold the config");
  }
  const config = (await readJsonFile(path)) ?? {};
  const auths = { ...(config.auths as Record<string, unknown> ?? {}) };
  let bin = "";
  for (const b of new TextEncoder().encode(`${credentials.username}:${credentials.password}`)) {
    bin += String.fromCharCode(b);
  }
  auths[loginKey(host)] = { auth: btoa(bin) };
  await writePrivateJson(path, { ...config, auths });
  return path;
}

/**
 * Removes a host's entry from the docker config, as `docker logout` does. Returns false
 * when there was none.
 *
 * @example
 * ```ts
 * import { removeLogin, saveLogin } from "@lading/oci/fs";
 * const dir = await Deno.makeTempDir();
 * const env = { env: (name: string) => (name === "DOCKER_CONFIG" ? dir : undefined) };
 * await saveLogin("registry.example.com", { username: "me", password: "secret" }, { env });
 * console.log(await removeLogin("registry.example.com", { env })); // true
 * console.log(await removeLogin("registry.example.com", { env })); // false
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function removeLogin(host: string, options: CredentialOptions = {}): Promise<boolean> {
  const e = options.env ?? processEnv;
  const path = dockerConfigPath(e);
  if (!path) return false;
  const config = await readJsonFile(path);
  const auths = { ...(config?.auths as Record<string, unknown> ?? {}) };
  let removed = false;
  for (const k of authKeys(host)) {
    if (k in auths) {
      delete auths[k];
      removed = true;
    }
  }
  if (!removed) return false;
  await writePrivateJson(path, { ...config, auths });
  return true;
}
