/**
 * The real-component registry harness: Debian's distribution registry (`docker-registry`,
 * distribution 2.8) started for one test on 127.0.0.1, a Bearer token server, a
 * fault-injecting proxy, and a tiny independent registry client for seeding and checking
 * content (it shares no code with `src/registry/`, so it can catch the core's mistakes).
 *
 * ```ts
 * if (!(await haveRegistry("pull round trip"))) return;   // visible skip; fails under CI=true
 * await using reg = await startRegistry({ auth: "basic" }); // or "none" (default) | "token"
 * reg.host          // "127.0.0.1:41234" — what goes into references
 * reg.url           // "http://127.0.0.1:41234" (https with `tls: true`)
 * reg.caFile        // with tls: the PEM of the CA the test made (pass to --tlscacert)
 * reg.username, reg.password   // with basic/token auth: a user that may push and pull
 * reg.tokens        // with token auth: the TokenServer (counters, mint tokens)
 * reg.cliFlags()    // ["--plain-http"] or ["--tlscacert", caFile], plus --user when auth
 * await reg.authorization("repo", ["pull", "push"])  // an Authorization value for seeding
 * await reg.stop()  // kills the registry (and token server) and removes its temp dir
 * ```
 * Options of {@link startRegistry}:
 * - `auth: "none" | "basic" | "token"`; `users` (name → password; default one user
 *   `lading`/`s3cret-pass`);
 * - `tls: true` makes a CA and a server certificate for 127.0.0.1 and localhost with openssl;
 * - `headers` — `http.headers` (e.g. CORS), one comma-joined string per header;
 * - `token` — {@link TokenServerOptions} (anonymous pull, POST oauth2 on/off, lifetime).
 *
 * Token server ({@link startTokenServer}, started by `auth: "token"`): `GET /token?service=
 * &scope=…` (Basic credentials optional, `offline_token=true` adds a `refresh_token`) and
 * `POST /token` with the oauth2 form (`grant_type=password|refresh_token`, `username`,
 * `password`, `refresh_token`, `service`, `scope` space-separated, `client_id`,
 * `access_type=offline`). It signs ES256 JWTs whose header carries an `x5c` chain (a signing
 * certificate issued by a CA the registry trusts through `rootcertbundle`). Grants: a known
 * user gets every action asked for (or what `grant()` says); anonymous gets `pull` when
 * `anonymousPull`, otherwise nothing; wrong credentials → 401. Every request is recorded in
 * `requests` (method, grant type, user, scopes asked, actions granted, status).
 *
 * Fault proxy ({@link startFaultProxy}(upstreamUrl)): an HTTP proxy in front of a plain-http
 * registry, reached at `proxy.host`. Rules (`proxy.add(rule)`, first match wins, each with
 * `times`, default unlimited) select requests by `kind` (`blob`, `manifest`, `upload`,
 * `tags`, `referrers`, `base`, `catalog`), `method` and `path` (RegExp), and act:
 * `{ respond: { status, headers, body } }` (e.g. 503 once, 429 + Retry-After, a schema-1
 * body), `{ cutAfter: N }` (forward, then close the connection after N body bytes),
 * `{ stallAfter: N }` (forward N body bytes, then hold the connection silent — for killing a
 * client mid-blob), `{ corrupt: true }` (same length, bytes changed), `{ ignoreRange: true }` (the upstream
 * never sees `Range`), `{ setHeaders: {...} }` (forward, override response headers), and
 * `{ redirect: true }` (307 to a second server on another port — another origin — which
 * serves the request like a signed blob-store URL and records whether `Authorization` came).
 * Every request is recorded in `proxy.seen` (and `proxy.redirected` for the other origin):
 * method, path, kind, status, Range, Accept, whether Authorization was sent, body bytes sent,
 * the rule applied, and the time. `proxy.count({ kind, method })`, `proxy.reset()`.
 *
 * Seeding and checking without lading: {@link putBlob}, {@link putManifest},
 * {@link getManifest}, {@link blobBytes}, {@link pushBuiltImage}, all over `fetch` with
 * `reg.authorization()`.
 * @module
 */
import { assertEquals } from "../assert.ts";
import type { BuiltBlob, BuiltImage } from "../helpers/images.ts";

/** The registry binary (Debian `docker-registry`); override with `LADING_DOCKER_REGISTRY`. */
export const REGISTRY_BIN = Deno.env.get("LADING_DOCKER_REGISTRY") ?? "/usr/bin/docker-registry";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The Accept a client must send (OCI index/manifest, Docker list/schema 2). */
export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function missingTool(test: string, what: string, pkg: string): false {
  const message = `${test}: ${what} not found`;
  if (Deno.env.get("CI") === "true") {
    throw new Error(`${message} (required in CI: apt-get install ${pkg})`);
  }
  console.log(`%cskipped: ${message} (apt-get install ${pkg} to run it)`, "color: yellow");
  return false;
}

/**
 * True when the registry (and, with `basic`, htpasswd; with `tls`/`token`, openssl) is
 * installed. Otherwise prints a visible `skipped:` line and returns false — or throws when
 * `CI=true`.
 */
export async function haveRegistry(
  test: string,
  needs: { basic?: boolean; tls?: boolean; token?: boolean; skopeo?: boolean } = {},
): Promise<boolean> {
  if (!exists(REGISTRY_BIN)) return missingTool(test, REGISTRY_BIN, "docker-registry");
  if (needs.basic && !(await runs("htpasswd", ["-h"]))) {
    return missingTool(test, "htpasswd", "apache2-utils");
  }
  if ((needs.tls || needs.token) && !(await runs("openssl", ["version"]))) {
    return missingTool(test, "openssl", "openssl");
  }
  if (needs.skopeo && !(await runs("skopeo", ["--version"]))) {
    return missingTool(test, "skopeo", "skopeo");
  }
  return true;
}

async function runs(cmd: string, args: string[]): Promise<boolean> {
  try {
    await new Deno.Command(cmd, { args, stdout: "null", stderr: "null", stdin: "null" })
      .output();
    return true;
  } catch {
    return false;
  }
}

/** Runs a command and returns stdout; throws with stderr on failure. */
export async function sh(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

// ---------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------

/** A CA and one certificate it issued, as files. */
export interface CertFiles {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

/**
 * Makes a P-256 CA and a certificate it signs, in `dir` with `prefix`. `server: true` adds
 * subjectAltNames for 127.0.0.1/localhost and serverAuth; otherwise a signing certificate.
 */
export async function makeCerts(
  dir: string,
  prefix: string,
  options: { server?: boolean } = {},
): Promise<CertFiles> {
  const p = (s: string) => `${dir}/${prefix}${s}`;
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await sh("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
    "-days",
    "2",
    "-subj",
    `/CN=lading test ${prefix}CA`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await sh("openssl", [
    "req",
    ...ec,
    "-keyout",
    p("leaf.key"),
    "-out",
    p("leaf.csr"),
    "-subj",
    options.server ? "/CN=127.0.0.1" : "/CN=lading test token signer",
  ]);
  const ext = options.server
    ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n" +
      "keyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n"
    : "keyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n";
  await Deno.writeTextFile(p("leaf.ext"), ext);
  await sh("openssl", [
    "x509",
    "-req",
    "-in",
    p("leaf.csr"),
    "-CA",
    p("ca.crt"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-out",
    p("leaf.crt"),
    "-days",
    "2",
    "-extfile",
    p("leaf.ext"),
  ]);
  return { caCert: p("ca.crt"), caKey: p("ca.key"), cert: p("leaf.crt"), key: p("leaf.key") };
}

function pemBody(pem: string, label: string): Uint8Array {
  const m = pem.match(new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`));
  if (!m) throw new Error(`no ${label} in PEM`);
  return Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function b64url(bytes: Uint8Array | string): string {
  const b = typeof bytes === "string" ? enc.encode(bytes) : bytes;
  return b64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// ---------------------------------------------------------------------------------------
// Token server
// ---------------------------------------------------------------------------------------

/** Options of the token server. */
export interface TokenServerOptions {
  /** name → password; default `{ lading: "s3cret-pass" }`. */
  users?: Record<string, string>;
  /** Anonymous requests get `pull` (default false: anonymous gets no access). */
  anonymousPull?: boolean;
  /** Answer the POST oauth2 form (default true); false answers POST with 404. */
  oauth?: boolean;
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
  /**
   * The `exp` the n-th token (1-based) really carries, in seconds from now (default:
   * `expiresIn`): a negative value makes a token the registry refuses while the answer
   * still says `expires_in` (a revoked token, a skewed clock).
   */
  jwtExpiresIn?: (n: number) => number;
  /** Actions granted to `user` (undefined: anonymous) on `repo`; default: see module doc. */
  grant?: (user: string | undefined, repo: string, asked: string[]) => string[];
}

/** One request the token server answered. */
export interface TokenRequest {
  method: "GET" | "POST";
  grantType?: string;
  user?: string;
  service?: string;
  scopes: string[];
  /** `repository:name:actions` actually granted. */
  granted: string[];
  status: number;
  offline: boolean;
}

/** A running token server. */
export interface TokenServer {
  /** The realm URL (`http://127.0.0.1:port/token`). */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** The CA bundle the registry trusts (`rootcertbundle`). */
  readonly rootCertBundle: string;
  readonly requests: TokenRequest[];
  /** Refresh (identity) tokens issued, token → user. */
  readonly refreshTokens: Map<string, string>;
  /** Signs a token granting `scopes` (`repository:x:pull,push`) to `user`. */
  mint(user: string | undefined, scopes: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Splits `repository:name:pull,push` (the name may contain ':' for a port, never here). */
function parseScope(scope: string): { type: string; name: string; actions: string[] } | null {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first < 0 || last <= first) return null;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(",").filter(Boolean),
  };
}

/**
 * Starts the token server on a free port of 127.0.0.1. Makes its own signing CA and
 * certificate with openssl in `dir`.
 */
export async function startTokenServer(
  dir: string,
  options: TokenServerOptions = {},
): Promise<TokenServer> {
  const certs = await makeCerts(dir, "token-");
  const leafDer = pemBody(await Deno.readTextFile(certs.cert), "CERTIFICATE");
  const key = await crypto.subtle.importKey(
    "pkcs8",
    pemBody(await Deno.readTextFile(certs.key), "PRIVATE KEY") as BufferSource,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const users = options.users ?? { lading: "s3cret-pass" };
  const service = "lading-test-registry";
  const issuer = "lading-test-issuer";
  const expiresIn = options.expiresIn ?? 300;
  const requests: TokenRequest[] = [];
  const refreshTokens = new Map<string, string>();
  let minted = 0;

  const grantOf = (user: string | undefined, scopes: string[]) => {
    const access: { type: string; name: string; actions: string[] }[] = [];
    for (const s of scopes) {
      const p = parseScope(s);
      if (!p) continue;
      let actions: string[];
      if (options.grant) actions = options.grant(user, p.name, p.actions);
      else if (user !== undefined) actions = p.actions;
      else actions = options.anonymousPull ? p.actions.filter((a) => a === "pull") : [];
      actions = actions.filter((a) => p.actions.includes(a) || p.actions.includes("*"));
      if (actions.length) access.push({ type: p.type, name: p.name, actions });
    }
    return access;
  };

  const mintAccess = async (
    user: string | undefined,
    access: { type: string; name: string; actions: string[] }[],
  ) => {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: "ES256", typ: "JWT", x5c: [b64(leafDer)] };
    const claims = {
      iss: issuer,
      sub: user ?? "",
      aud: service,
      exp: now + (options.jwtExpiresIn?.(++minted) ?? expiresIn),
      nbf: now - 3600,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = new Uint8Array(
      await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, enc.encode(input)),
    );
    return `${input}.${b64url(sig)}`;
  };

  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" },
    });

  const answer = async (
    rec: TokenRequest,
    user: string | undefined,
    offline: boolean,
  ): Promise<Response> => {
    const access = grantOf(user, rec.scopes);
    rec.granted = access.map((a) => `${a.type}:${a.name}:${a.actions.join(",")}`);
    const token = await mintAccess(user, access);
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: expiresIn,
      issued_at: new Date().toISOString(),
    };
    if (offline && user !== undefined) {
      const refresh = `refresh-${crypto.randomUUID()}`;
      refreshTokens.set(refresh, user);
      body.refresh_token = refresh;
    }
    rec.status = 200;
    return json(200, body);
  };

  const ac = new AbortController();
  let resolveAddr: (port: number) => void;
  const listening = new Promise<number>((r) => (resolveAddr = r));
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: (a) => resolveAddr(a.port),
  }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname !== "/token") return new Response("not found", { status: 404 });
    if (req.method === "GET") {
      const rec: TokenRequest = {
        method: "GET",
        service: url.searchParams.get("service") ?? undefined,
        scopes: url.searchParams.getAll("scope").flatMap((s) => s.split(" ")).filter(Boolean),
        granted: [],
        status: 0,
        offline: url.searchParams.get("offline_token") === "true",
      };
      requests.push(rec);
      const auth = req.headers.get("authorization");
      let user: string | undefined;
      if (auth) {
        const m = auth.match(/^Basic\s+(.+)$/i);
        const [name, ...rest] = m ? atob(m[1]).split(":") : [];
        if (!m || users[name] === undefined || users[name] !== rest.join(":")) {
          rec.status = 401;
          rec.user = name;
          return json(401, { errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] });
        }
        user = name;
      }
      rec.user = user;
      return await answer(rec, user, rec.offline);
    }
    if (req.method === "POST") {
      if (options.oauth === false) return new Response("not found", { status: 404 });
      const form = new URLSearchParams(await req.text());
      const rec: TokenRequest = {
        method: "POST",
        grantType: form.get("grant_type") ?? undefined,
        service: form.get("service") ?? undefined,
        scopes: (form.get("scope") ?? "").split(" ").filter(Boolean),
        granted: [],
        status: 0,
        offline: form.get("access_type") === "offline",
      };
      requests.push(rec);
      let user: string | undefined;
      if (rec.grantType === "password") {
        const name = form.get("username") ?? "";
        rec.user = name;
        if (users[name] === undefined || users[name] !== form.get("password")) {
          rec.status = 401;
          return json(401, { error: "invalid_grant" });
        }
        user = name;
      } else if (rec.grantType === "refresh_token") {
        user = refreshTokens.get(form.get("refresh_token") ?? "");
        rec.user = user;
        if (user === undefined) {
          rec.status = 401;
          return json(401, { error: "invalid_grant" });
        }
      } else {
        rec.status = 400;
        return json(400, { error: "unsupported_grant_type" });
      }
      return await answer(rec, user, rec.offline || rec.grantType === "refresh_token");
    }
    return new Response("method not allowed", { status: 405 });
  });
  const port = await listening;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: certs.caCert,
    requests,
    refreshTokens,
    mint: (user, scopes) => mintAccess(user, grantOf(user ?? "(test)", scopes)),
    stop: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

// ---------------------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------------------

/** How to start a registry. */
export interface RegistryOptions {
  auth?: "none" | "basic" | "token";
  /** name → password for basic and token auth; default `{ lading: "s3cret-pass" }`. */
  users?: Record<string, string>;
  tls?: boolean;
  /** `http.headers`: header → value (a list is comma-joined into one string). */
  headers?: Record<string, string | string[]>;
  /** Token server options (auth: "token"). */
  token?: Omit<TokenServerOptions, "users">;
}

/** A running registry. */
export interface Registry {
  /** `127.0.0.1:<port>` — the registry part of references. */
  readonly host: string;
  readonly port: number;
  /** `http://host` or `https://host`. */
  readonly url: string;
  readonly tls: boolean;
  /** With tls: the CA certificate (PEM) that issued the server certificate. */
  readonly caFile?: string;
  readonly auth: "none" | "basic" | "token";
  /** The first user (basic/token). */
  readonly username?: string;
  readonly password?: string;
  /** With token auth. */
  readonly tokens?: TokenServer;
  /** The temporary directory (config, storage, certificates). */
  readonly dir: string;
  /** Transport flags for the lading CLI (and `--user` when `withUser`). */
  cliFlags(withUser?: boolean): string[];
  /** An Authorization header value allowing `actions` on `repo` (undefined without auth). */
  authorization(repo: string, actions?: string[]): Promise<string | undefined>;
  /** fetch against the registry, trusting its CA. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The registry's log so far. */
  log(): Promise<string>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

/**
 * Starts `docker-registry serve` with a config written into a fresh temp dir (filesystem
 * storage there, delete enabled) on a free port of 127.0.0.1, and waits until `/v2/`
 * answers. Call {@link haveRegistry} first.
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const dir = await Deno.makeTempDir({ prefix: "lading-registry-" });
  const auth = options.auth ?? "none";
  const users = options.users ?? { lading: "s3cret-pass" };
  const [username, password] = auth === "none" ? [] : Object.entries(users)[0];
  const tls = options.tls ?? false;
  let tokens: TokenServer | undefined;
  let child: Deno.ChildProcess | undefined;
  let httpClient: Deno.HttpClient | undefined;
  let logFile: Deno.FsFile | undefined;
  const cleanup = async () => {
    if (child) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      child = undefined;
    }
    logFile?.close();
    logFile = undefined;
    httpClient?.close();
    httpClient = undefined;
    await tokens?.stop();
    tokens = undefined;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const lines = [
      "version: 0.1",
      "log:",
      "  level: info",
      "  formatter: text",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${yamlString(`${dir}/data`)}`,
      "  delete:",
      "    enabled: true",
      "  maintenance:",
      "    uploadpurging:",
      "      enabled: false",
    ];
    let port = 0;
    const http = () => {
      const h = [
        "http:",
        `  addr: 127.0.0.1:${port}`,
        `  secret: ${yamlString(crypto.randomUUID())}`,
      ];
      if (tls) {
        h.push("  tls:", `    certificate: ${yamlString(`${dir}/server-leaf.crt`)}`);
        h.push(`    key: ${yamlString(`${dir}/server-leaf.key`)}`);
      }
      if (options.headers) {
        h.push("  headers:");
        for (const [k, v] of Object.entries(options.headers)) {
          h.push(`    ${k}: [${yamlString(Array.isArray(v) ? v.join(", ") : v)}]`);
        }
      }
      return h;
    };
    let caFile: string | undefined;
    if (tls) caFile = (await makeCerts(dir, "server-", { server: true })).caCert;
    if (auth === "basic") {
      const entries: string[] = [];
      for (const [u, p] of Object.entries(users)) {
        entries.push((await sh("htpasswd", ["-Bbn", u, p])).trim());
      }
      await Deno.writeTextFile(`${dir}/htpasswd`, entries.join("\n") + "\n");
      lines.push("auth:", "  htpasswd:", "    realm: lading-test");
      lines.push(`    path: ${yamlString(`${dir}/htpasswd`)}`);
    } else if (auth === "token") {
      tokens = await startTokenServer(dir, { ...options.token, users });
      lines.push("auth:", "  token:");
      lines.push(`    realm: ${yamlString(tokens.realm)}`);
      lines.push(`    service: ${yamlString(tokens.service)}`);
      lines.push(`    issuer: ${yamlString(tokens.issuer)}`);
      lines.push(`    rootcertbundle: ${yamlString(tokens.rootCertBundle)}`);
    }
    if (caFile) {
      httpClient = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caFile)] });
    }
    const scheme = tls ? "https" : "http";
    // A port freed by freePort() can be taken by another process before the registry binds
    // it: retry on a new port when the registry exits early.
    for (let attempt = 0; attempt < 5; attempt++) {
      port = freePort();
      await Deno.writeTextFile(`${dir}/config.yml`, [...lines, ...http()].join("\n") + "\n");
      logFile = await Deno.open(`${dir}/registry.log`, {
        write: true,
        create: true,
        truncate: true,
      });
      // The registry logs to stderr (logrus and Go's http server). Drain it into the log
      // file: an undrained pipe fills up and the registry stops answering.
      child = new Deno.Command(REGISTRY_BIN, {
        args: ["serve", `${dir}/config.yml`],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const c = child;
      const drained = c.stderr.pipeTo(logFile.writable, { preventClose: true }).catch(() => {});
      let exited = false;
      c.status.then(() => (exited = true));
      let up = false;
      for (let i = 0; i < 400 && !exited; i++) {
        try {
          const r = await fetch(`${scheme}://127.0.0.1:${port}/v2/`, {
            client: httpClient,
            signal: AbortSignal.timeout(2000),
          });
          await r.body?.cancel();
          up = true;
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      if (up) break;
      try {
        c.kill("SIGKILL");
      } catch {
        // already gone
      }
      await c.status;
      await drained;
      child = undefined;
      logFile.close();
      logFile = undefined;
      if (attempt === 4 || !exited) {
        throw new Error(
          `docker-registry did not start:\n${await Deno.readTextFile(`${dir}/registry.log`)}`,
        );
      }
    }
    const host = `127.0.0.1:${port}`;
    const url = `${scheme}://${host}`;
    const registry: Registry = {
      host,
      port,
      url,
      tls,
      caFile,
      auth,
      username,
      password,
      tokens,
      dir,
      cliFlags(withUser = true) {
        const flags = tls ? ["--tlscacert", caFile!] : ["--plain-http"];
        if (withUser && username !== undefined) flags.push("--user", `${username}:${password}`);
        return flags;
      },
      async authorization(repo, actions = ["pull", "push", "delete"]) {
        if (auth === "basic") return `Basic ${btoa(`${username}:${password}`)}`;
        if (auth === "token") {
          return `Bearer ${await tokens!.mint(username, [
            `repository:${repo}:${actions.join(",")}`,
          ])}`;
        }
        return undefined;
      },
      fetch(path, init = {}) {
        return fetch(`${url}${path}`, { ...init, client: httpClient });
      },
      log: () => Deno.readTextFile(`${dir}/registry.log`).catch(() => ""),
      stop: cleanup,
      [Symbol.asyncDispose]: cleanup,
    };
    return registry;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------
// Seeding and checking content without lading
// ---------------------------------------------------------------------------------------

function repoOfPath(path: string): string {
  return path.replace(/^\/v2\//, "").replace(/\/(blobs|manifests|tags|referrers)\/.*$/, "");
}

async function call(
  reg: Pick<Registry, "fetch" | "authorization">,
  path: string,
  init: RequestInit & { actions?: string[] } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  const a = await reg.authorization(repoOfPath(path), init.actions);
  if (a) headers.set("authorization", a);
  return await reg.fetch(path, { ...init, headers });
}

/** Uploads one blob (POST, then PUT with the digest) unless the registry has it. */
export async function putBlob(reg: Registry, repo: string, b: BuiltBlob): Promise<void> {
  const head = await call(reg, `/v2/${repo}/blobs/${b.descriptor.digest}`, { method: "HEAD" });
  await head.body?.cancel();
  if (head.status === 200) return;
  const start = await call(reg, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await start.body?.cancel();
  assertEquals(start.status, 202, `POST upload to ${repo}: ${start.status}`);
  const loc = new URL(start.headers.get("location")!, reg.url);
  loc.searchParams.set("digest", b.descriptor.digest);
  const put = await call(reg, `${loc.pathname}${loc.search}`, {
    method: "PUT",
    body: b.bytes as BodyInit,
    headers: { "content-type": "application/octet-stream" },
  });
  const text = await put.text();
  assertEquals(put.status, 201, `PUT blob ${b.descriptor.digest} to ${repo}: ${text}`);
}

/** PUTs a manifest or index under `ref` (tag or digest); returns the registry's digest. */
export async function putManifest(
  reg: Registry,
  repo: string,
  ref: string,
  m: BuiltBlob,
): Promise<string> {
  const r = await call(reg, `/v2/${repo}/manifests/${ref}`, {
    method: "PUT",
    body: m.bytes as BodyInit,
    headers: { "content-type": m.descriptor.mediaType },
  });
  const text = await r.text();
  assertEquals(r.status, 201, `PUT manifest ${repo}:${ref}: ${text}`);
  return r.headers.get("docker-content-digest") ?? "";
}

/** GETs a manifest with the full Accept: status, media type, digest header and bytes. */
export async function getManifest(
  reg: Registry,
  repo: string,
  ref: string,
): Promise<{ status: number; mediaType: string; digest: string; bytes: Uint8Array }> {
  const r = await call(reg, `/v2/${repo}/manifests/${ref}`, {
    headers: { accept: MANIFEST_ACCEPT },
    actions: ["pull"],
  });
  const bytes = new Uint8Array(await r.arrayBuffer());
  return {
    status: r.status,
    mediaType: r.headers.get("content-type") ?? "",
    digest: r.headers.get("docker-content-digest") ?? "",
    bytes,
  };
}

/** A blob's bytes from the registry, or undefined when it answers 404. */
export async function blobBytes(
  reg: Registry,
  repo: string,
  digest: string,
): Promise<Uint8Array | undefined> {
  const r = await call(reg, `/v2/${repo}/blobs/${digest}`, { actions: ["pull"] });
  if (r.status === 404) {
    await r.body?.cancel();
    return undefined;
  }
  assertEquals(r.status, 200, `GET blob ${digest}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** Pushes a built image's blobs and manifest to `repo:tag` (tag may be a digest). */
export async function pushBuiltImage(
  reg: Registry,
  repo: string,
  tag: string,
  image: BuiltImage,
): Promise<string> {
  for (const b of [image.config, ...image.layers]) await putBlob(reg, repo, b);
  return await putManifest(reg, repo, tag, image.manifest);
}

/** Pushes several images and an index over them; returns the index digest. */
export async function pushBuiltIndex(
  reg: Registry,
  repo: string,
  tag: string,
  images: BuiltImage[],
  index: BuiltBlob,
): Promise<string> {
  for (const i of images) await pushBuiltImage(reg, repo, i.manifest.descriptor.digest, i);
  return await putManifest(reg, repo, tag, index);
}

// ---------------------------------------------------------------------------------------
// The fault proxy
// ---------------------------------------------------------------------------------------

/** What a request is, from its path. */
export type RequestKind =
  | "base"
  | "catalog"
  | "blob"
  | "upload"
  | "manifest"
  | "tags"
  | "referrers"
  | "other";

/** Classifies a registry API path. */
export function kindOf(path: string): RequestKind {
  if (path === "/v2/" || path === "/v2") return "base";
  if (path === "/v2/_catalog") return "catalog";
  if (/\/blobs\/uploads\/?/.test(path)) return "upload";
  if (/\/blobs\/[a-z0-9]+:[a-f0-9]+$/.test(path)) return "blob";
  if (/\/manifests\/[^/]+$/.test(path)) return "manifest";
  if (/\/tags\/list$/.test(path)) return "tags";
  if (/\/referrers\/[^/]+$/.test(path)) return "referrers";
  return "other";
}

/** What a rule does to the requests it matches. */
export type FaultAction =
  | { respond: { status: number; headers?: Record<string, string>; body?: string | Uint8Array } }
  | { cutAfter: number }
  | { stallAfter: number }
  | { corrupt: true }
  | { ignoreRange: true }
  | { setHeaders: Record<string, string> }
  | { redirect: true };

/** A fault rule: which requests, how many times, what to do. */
export interface FaultRule {
  kind?: RequestKind;
  method?: string;
  path?: RegExp;
  /** Applies to this many matching requests, then no more (default: all). */
  times?: number;
  action: FaultAction;
}

/** One request the proxy (or the redirect target) saw. */
export interface SeenRequest {
  method: string;
  path: string;
  /** The query string, with its `?` (or empty). */
  query: string;
  kind: RequestKind;
  status: number;
  range?: string;
  accept?: string;
  authorization: boolean;
  /** Body bytes sent to the client (known once the body ended). */
  bytes: number;
  /** Index of the rule applied (in `rules`), if any. */
  rule?: number;
  /** Date.now() when it arrived. */
  at: number;
}

/** A running fault proxy. */
export interface FaultProxy {
  /** `127.0.0.1:<port>` of the proxy. */
  readonly host: string;
  readonly url: string;
  /** The other origin that redirects go to. */
  readonly redirectHost: string;
  readonly rules: (FaultRule & { used: number })[];
  readonly seen: SeenRequest[];
  readonly redirected: SeenRequest[];
  add(rule: FaultRule): void;
  /** Removes every rule and forgets what was seen. */
  reset(): void;
  /** Requests seen (by the proxy, not the redirect target) that match. */
  count(filter?: { kind?: RequestKind; method?: string; status?: number }): number;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function matches(
  r: { kind?: RequestKind; method?: string; status?: number },
  s: SeenRequest,
): boolean {
  return (r.kind === undefined || r.kind === s.kind) &&
    (r.method === undefined || r.method === s.method) &&
    (r.status === undefined || r.status === s.status);
}

function arrived(req: Request, url: URL): SeenRequest {
  return {
    method: req.method,
    path: url.pathname,
    query: url.search,
    kind: kindOf(url.pathname),
    status: 0,
    range: req.headers.get("range") ?? undefined,
    accept: req.headers.get("accept") ?? undefined,
    authorization: req.headers.has("authorization"),
    bytes: 0,
    at: Date.now(),
  };
}

function counting(
  body: ReadableStream<Uint8Array>,
  seen: SeenRequest,
  options: { cutAfter?: number; stallAfter?: number; corrupt?: boolean } = {},
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let flipped = false;
  let release = () => {};
  const released = new Promise<void>((r) => (release = r));
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (options.stallAfter !== undefined && seen.bytes >= options.stallAfter) {
        // Hold the connection open with no more bytes until the client goes away.
        await released;
        return;
      }
      const { value, done } = await reader.read();
      if (done) return c.close();
      let chunk = value;
      if (options.stallAfter !== undefined && seen.bytes + chunk.byteLength > options.stallAfter) {
        chunk = chunk.slice(0, options.stallAfter - seen.bytes);
      }
      if (options.cutAfter !== undefined && seen.bytes + chunk.byteLength >= options.cutAfter) {
        chunk = chunk.slice(0, Math.max(0, options.cutAfter - seen.bytes));
        seen.bytes += chunk.byteLength;
        if (chunk.byteLength) c.enqueue(chunk);
        await reader.cancel().catch(() => {});
        // Ending the body short of its Content-Length makes the server drop the
        // connection: the client sees a body cut mid-way.
        return c.close();
      }
      if (options.corrupt && !flipped && chunk.byteLength > 0) {
        chunk = chunk.slice();
        chunk[0] ^= 0xff;
        flipped = true;
      }
      seen.bytes += chunk.byteLength;
      c.enqueue(chunk);
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
}

/**
 * Starts a fault-injecting proxy in front of `upstream` (a plain-http registry URL) and a
 * second server on another port that redirects point to.
 */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const rules: (FaultRule & { used: number })[] = [];
  const seen: SeenRequest[] = [];
  const redirected: SeenRequest[] = [];
  const signed = new Map<string, string | null>();
  const ac = new AbortController();
  const upstreamUrl = new URL(upstream);

  const listen = (
    handler: (req: Request) => Promise<Response>,
  ): Promise<{ port: number; finished: Promise<void> }> =>
    new Promise((resolve) => {
      const s = Deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        signal: ac.signal,
        onListen: () => {},
        onError: () => new Response("proxy error", { status: 502 }),
      }, handler);
      resolve({ port: s.addr.port, finished: s.finished });
    });

  let proxyOrigin = "";
  let otherOrigin = "";

  const forward = async (
    req: Request,
    url: URL,
    rec: SeenRequest,
    opts: { ignoreRange?: boolean; authorization?: string | null } = {},
  ): Promise<Response> => {
    const headers = new Headers(req.headers);
    headers.delete("host");
    if (opts.ignoreRange) headers.delete("range");
    if (opts.authorization !== undefined) {
      headers.delete("authorization");
      if (opts.authorization) headers.set("authorization", opts.authorization);
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const r = await fetch(`${upstreamUrl.origin}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body: hasBody ? req.body : undefined,
      redirect: "manual",
    });
    rec.status = r.status;
    const out = new Headers(r.headers);
    const loc = out.get("location");
    if (loc && loc.startsWith(upstreamUrl.origin)) {
      out.set("location", proxyOrigin + loc.slice(upstreamUrl.origin.length));
    }
    return new Response(r.body, { status: r.status, headers: out });
  };

  const proxy = await listen(async (req) => {
    const url = new URL(req.url);
    const rec = arrived(req, url);
    seen.push(rec);
    const ruleIndex = rules.findIndex((r) =>
      r.used < (r.times ?? Infinity) &&
      (r.kind === undefined || r.kind === rec.kind) &&
      (r.method === undefined || r.method === req.method) &&
      (r.path === undefined || r.path.test(url.pathname))
    );
    const rule = ruleIndex >= 0 ? rules[ruleIndex] : undefined;
    if (rule) {
      rule.used++;
      rec.rule = ruleIndex;
    }
    const a = rule?.action;
    if (a && "respond" in a) {
      await req.body?.cancel();
      rec.status = a.respond.status;
      const body = typeof a.respond.body === "string" ? enc.encode(a.respond.body) : a.respond.body;
      rec.bytes = body?.byteLength ?? 0;
      return new Response(req.method === "HEAD" ? null : body as BodyInit | undefined, {
        status: a.respond.status,
        headers: a.respond.headers,
      });
    }
    if (a && "redirect" in a) {
      await req.body?.cancel();
      const sig = crypto.randomUUID();
      signed.set(sig, req.headers.get("authorization"));
      rec.status = 307;
      const target = new URL(`${otherOrigin}${url.pathname}`);
      for (const [k, v] of url.searchParams) target.searchParams.append(k, v);
      target.searchParams.set("lading-test-signature", sig);
      return new Response(null, { status: 307, headers: { location: target.href } });
    }
    const res = await forward(req, url, rec, { ignoreRange: !!(a && "ignoreRange" in a) });
    const headers = new Headers(res.headers);
    if (a && "setHeaders" in a) {
      for (const [k, v] of Object.entries(a.setHeaders)) headers.set(k, v);
    }
    if (!res.body) return new Response(null, { status: res.status, headers });
    const body = counting(res.body, rec, {
      cutAfter: a && "cutAfter" in a ? a.cutAfter : undefined,
      stallAfter: a && "stallAfter" in a ? a.stallAfter : undefined,
      corrupt: !!(a && "corrupt" in a),
    });
    return new Response(body, { status: res.status, headers });
  });

  const other = await listen(async (req) => {
    const url = new URL(req.url);
    const rec = arrived(req, url);
    redirected.push(rec);
    const sig = url.searchParams.get("lading-test-signature");
    if (sig === null || !signed.has(sig)) {
      rec.status = 403;
      return new Response("bad signature", { status: 403 });
    }
    url.searchParams.delete("lading-test-signature");
    const res = await forward(req, url, rec, { authorization: signed.get(sig) });
    if (!res.body) return res;
    return new Response(counting(res.body, rec), { status: res.status, headers: res.headers });
  });

  proxyOrigin = `http://127.0.0.1:${proxy.port}`;
  otherOrigin = `http://127.0.0.1:${other.port}`;
  const stop = async () => {
    ac.abort();
    await Promise.all([proxy.finished, other.finished]);
  };
  return {
    host: `127.0.0.1:${proxy.port}`,
    url: proxyOrigin,
    redirectHost: `127.0.0.1:${other.port}`,
    rules,
    seen,
    redirected,
    add: (rule) => rules.push({ ...rule, used: 0 }),
    reset: () => {
      rules.length = 0;
      seen.length = 0;
      redirected.length = 0;
    },
    count: (filter = {}) => seen.filter((s) => matches(filter, s)).length,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** The bytes of a string as UTF-8 (for proxy bodies). */
export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}

/** Decodes UTF-8 bytes. */
export function text(b: Uint8Array): string {
  return dec.decode(b);
}

// ---------------------------------------------------------------------------------------
// A TCP tap: which protocol did clients speak?
// ---------------------------------------------------------------------------------------

/** A TCP forwarder that records how each connection began. */
export interface TcpTap {
  /** `127.0.0.1:<port>` to connect to instead of the upstream. */
  readonly host: string;
  /** Per connection: `"tls"` (a TLS handshake) or the first line of plain text sent. */
  readonly connections: string[];
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Forwards TCP connections to `127.0.0.1:upstreamPort` byte for byte and records whether
 * each one started with a TLS handshake or with plain HTTP — to prove that a client never
 * fell back to http.
 */
export function startTcpTap(upstreamPort: number): TcpTap {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: string[] = [];
  const open = new Set<Deno.Conn>();
  const served = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      (async () => {
        let upstream: Deno.Conn | undefined;
        try {
          const first = new Uint8Array(4096);
          const n = await conn.read(first);
          if (n === null) return;
          connections.push(
            first[0] === 0x16 ? "tls" : dec.decode(first.subarray(0, n)).split("\r\n")[0],
          );
          upstream = await Deno.connect({ hostname: "127.0.0.1", port: upstreamPort });
          open.add(upstream);
          await upstream.write(first.subarray(0, n));
          await Promise.all([
            conn.readable.pipeTo(upstream.writable).catch(() => {}),
            upstream.readable.pipeTo(conn.writable).catch(() => {}),
          ]);
        } catch {
          // a side went away
        } finally {
          for (const c of [conn, upstream]) {
            if (!c) continue;
            open.delete(c);
            try {
              c.close();
            } catch {
              // already closed by its stream
            }
          }
        }
      })();
    }
  })().catch(() => {});
  const stop = async () => {
    listener.close();
    for (const c of open) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    await served;
  };
  return {
    host: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    connections,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
