// This module is browser compatible.
/**
 * HTTP to one registry host: https by default (`plainHttp` for http), authentication
 * from the registry's challenges, retries with backoff on network errors and 408, 429,
 * 500, 502, 503, 504 (honouring `Retry-After`, never on other 4xx), and redirects
 * followed without `Authorization` when they leave the registry's origin. `fetch` is
 * injected; nothing here is Deno-only.
 *
 * @example
 * ```ts
 * import { RegistryTransport } from "@lading/oci";
 * const t = new RegistryTransport("127.0.0.1:5000", {
 *   plainHttp: true,
 *   fetch: () => Promise.resolve(new Response("{}", { status: 200 })),
 * });
 * const res = await t.request({ method: "GET", path: "/v2/", scopes: [], what: "ping" });
 * console.log(res.status); // 200
 * ```
 * @module
 */
import { RegistryError } from "../errors.ts";
import { delay, startTimer } from "../timer.ts";
import {
  basicAuthorization,
  type Challenge,
  type CredentialLookup,
  type Credentials,
  errorDetail,
  networkErrorDetail,
  parseChallenges,
  TokenCache,
} from "./auth.ts";

/** Options of a {@link RegistryTransport}. */
export interface TransportOptions {
  /** The `fetch` to use (default: the global one). Deno callers pass one with a private CA. */
  readonly fetch?: typeof fetch;
  /** Talk http instead of https. */
  readonly plainHttp?: boolean;
  /** Credentials of a host (only ever sent to that host and its token server). */
  readonly credentials?: CredentialLookup;
  /** Retries after the first attempt (default 4). */
  readonly retries?: number;
  /** First backoff delay in ms (default 250; doubles per retry, at most 10 s). */
  readonly backoffMs?: number;
  /** Longest `Retry-After` honoured, in ms (default 60 s). */
  readonly maxRetryAfterMs?: number;
  /**
   * Longest wait for a response's headers to a request without a body, in ms (default
   * 60 s); a registry that does not answer is then a network error (retried).
   */
  readonly timeoutMs?: number;
  /** Waits (tests inject a fake clock). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Clock for token expiry. */
  readonly now?: () => number;
  /** Notes about retries (`503 from …, retrying in 1 s`). */
  readonly onRetry?: (message: string) => void;
  /** A shared token cache (several transports of one client). */
  readonly tokens?: TokenCache;
}

/** A request body that can be produced again for a retry. */
export type RequestBody = Uint8Array | string | (() => BodyInit | Promise<BodyInit>);

/** One request to the registry. */
export interface RegistryRequest {
  /** The HTTP method. */
  readonly method: string;
  /** A path on the registry (`/v2/...`) or an absolute URL it gave (an upload location). */
  readonly path: string;
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The body, when there is one. */
  readonly body?: RequestBody;
  /** The token scopes the request needs (`repository:x:pull`). */
  readonly scopes: readonly string[];
  /** What is being done, for messages: `fetch manifest 127.0.0.1:5000/x:1`. */
  readonly what: string;
  /** Do not retry on errors (a body that cannot be produced again). */
  readonly noRetry?: boolean;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const MAX_REDIRECTS = 10;

/**
 * The API host of a reference domain: Docker Hub's is `registry-1.docker.io`.
 *
 * @example
 * ```ts
 * import { apiHost } from "@lading/oci";
 * console.log(apiHost("docker.io"), apiHost("ghcr.io")); // registry-1.docker.io ghcr.io
 * ```
 */
export function apiHost(domain: string): string {
  return domain === "docker.io" || domain === "index.docker.io" ? "registry-1.docker.io" : domain;
}

/** True for errors that say the TLS handshake or certificate failed. */
export function isTlsError(e: unknown): boolean {
  let m = "";
  for (let x: unknown = e, i = 0; x instanceof Error && i < 5; i++) {
    m += ` ${x.message}`;
    x = (x as { cause?: unknown }).cause;
  }
  return /certificate|\btls\b|ssl|handshake|UnknownIssuer|self.signed|corrupt message|InvalidContentType|wrong version number/i
    .test(m);
}

/** True when a TLS client met a server that answers plain HTTP. */
function isPlainHttpServer(e: unknown): boolean {
  return /corrupt message|InvalidContentType|wrong version number/i.test(networkErrorDetail(e));
}

/** Milliseconds a `Retry-After` header asks for (seconds or an HTTP date). */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/**
 * HTTP to one registry host with auth, retries and redirects.
 *
 * @example
 * ```ts
 * import { RegistryTransport } from "@lading/oci";
 * import { MemoryRegistry } from "@lading/oci/testing";
 * const registry = new MemoryRegistry({ users: { me: "secret" } });
 * const transport = new RegistryTransport("registry.test", {
 *   fetch: registry.fetch,
 *   credentials: () => Promise.resolve({ username: "me", password: "secret" }),
 * });
 * const res = await transport.request({ method: "GET", path: "/v2/", scopes: [], what: "ping" });
 * console.log(res.status, transport.base); // 200 https://registry.test (after answering the 401 challenge)
 * await res.body?.cancel();
 * ```
 */
export class RegistryTransport {
  /** The host as in references (`127.0.0.1:5000`, `docker.io`). */
  readonly host: string;
  /** `https://host` or `http://host` (Docker Hub: `registry-1.docker.io`). */
  readonly base: string;
  #fetch: typeof fetch;
  #options: TransportOptions;
  #tokens: TokenCache;
  #challenge?: Challenge;
  #credentials?: Promise<Credentials | undefined>;

  /** A transport to the registry at `host`. */
  constructor(host: string, options: TransportOptions = {}) {
    this.host = host;
    this.base = `${options.plainHttp ? "http" : "https"}://${apiHost(host)}`;
    // Called as a plain function: a browser's own fetch passed in (`{ fetch }`) would throw
    // "Illegal invocation" when called as this object's method.
    const f = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#fetch = (input, init) => f(input, init);
    this.#options = options;
    this.#tokens = options.tokens ?? new TokenCache({ fetch: this.#fetch, now: options.now });
  }

  #creds(): Promise<Credentials | undefined> {
    this.#credentials ??= this.#options.credentials?.(this.host) ?? Promise.resolve(undefined);
    return this.#credentials;
  }

  async #authorization(scopes: readonly string[]): Promise<string | undefined> {
    const c = this.#challenge;
    if (!c) return undefined;
    const creds = await this.#creds();
    if (c.scheme === "bearer") {
      const realm = c.params.realm;
      if (!realm) {
        throw new RegistryError(
          `authentication failed: ${this.host} asked for a Bearer token without a realm`,
        );
      }
      const token = await this.#tokens.token({
        realm,
        service: c.params.service,
        scopes,
        credentials: creds,
      });
      return `Bearer ${token}`;
    }
    if (c.scheme === "basic") {
      if (!creds) return undefined;
      if (creds.identityToken !== undefined) {
        throw new RegistryError(
          `authentication failed: ${this.host} wants Basic auth but only an identity token is stored for it`,
        );
      }
      return basicAuthorization(creds);
    }
    return undefined;
  }

  /**
   * Sends a request and returns the final response (any status: callers map it).
   * 401 answers are handled here: the challenge is answered once, and a Bearer
   * `insufficient_scope` is retried once with the scope the registry named.
   *
   * @throws {RegistryError} for network and TLS failures (after retries) and for
   *   credentials the registry refuses.
   */
  async request(req: RegistryRequest): Promise<Response> {
    let scopes = [...req.scopes];
    let answeredChallenge = false;
    let widenedScope = false;
    let freshToken = false;
    for (;;) {
      let authorization: string | undefined;
      try {
        authorization = await this.#authorization(scopes);
      } catch (e) {
        // The token server's failure, said as what the user was doing.
        if (!(e instanceof RegistryError) || e.message.startsWith("Cannot ")) throw e;
        throw new RegistryError(`Cannot ${req.what}: ${e.message}`, e.status, {
          cause: e.cause ?? e,
        });
      }
      const res = await this.#withRetries(req, authorization);
      if (res.status !== 401) return res;
      const header = res.headers.get("www-authenticate") ?? "";
      const challenges = parseChallenges(header);
      const chosen = challenges.find((c) => c.scheme === "bearer") ??
        challenges.find((c) => c.scheme === "basic");
      const creds = await this.#creds();
      if (
        chosen && !answeredChallenge && (!authorization || !sameChallenge(chosen, this.#challenge))
      ) {
        answeredChallenge = true;
        this.#challenge = chosen;
        await res.body?.cancel();
        if (chosen.scheme === "basic" && !creds) return this.#authFailure(res, req, false);
        continue;
      }
      if (
        chosen?.scheme === "bearer" && chosen.params.error === "insufficient_scope" &&
        !widenedScope && chosen.params.scope
      ) {
        const extra = chosen.params.scope.split(" ").filter((s) => s && !scopes.includes(s));
        if (extra.length) {
          widenedScope = true;
          scopes = [...scopes, ...extra];
          await res.body?.cancel();
          continue;
        }
      }
      if (this.#challenge?.scheme === "bearer" && this.#challenge.params.realm) {
        this.#tokens.forget({
          realm: this.#challenge.params.realm,
          service: this.#challenge.params.service,
          scopes,
          credentials: creds,
        });
        // A token the registry does not take although it has not expired by our clock
        // (revoked, a skewed clock; cached or just issued): one more try with a fresh one.
        if (!freshToken) {
          freshToken = true;
          await res.body?.cancel();
          continue;
        }
      }
      return this.#authFailure(res, req, !!creds);
    }
  }

  async #authFailure(res: Response, req: RegistryRequest, hadCredentials: boolean): Promise<never> {
    const detail = errorDetail(await res.text().catch(() => ""));
    throw new RegistryError(
      `Cannot ${req.what}: authentication failed for ${this.host} (401${
        detail ? `: ${detail}` : ""
      }); ${
        hadCredentials
          ? "the registry refused the credentials"
          : "no credentials for this host (use --user or lading login)"
      }`,
      401,
    );
  }

  async #withRetries(req: RegistryRequest, authorization: string | undefined): Promise<Response> {
    const retries = req.noRetry ? 0 : this.#options.retries ?? 4;
    const sleep = this.#options.sleep ?? delay;
    const backoff = this.#options.backoffMs ?? 250;
    const maxRetryAfter = this.#options.maxRetryAfterMs ?? 60_000;
    for (let attempt = 0;; attempt++) {
      const wait = Math.min(10_000, backoff * 2 ** attempt);
      let res: Response;
      try {
        res = await this.#followRedirects(req, authorization);
      } catch (e) {
        if (e instanceof RegistryError) throw e;
        if (isTlsError(e)) {
          throw new RegistryError(
            isPlainHttpServer(e)
              ? `Cannot ${req.what}: TLS error talking to ${this.host}: the registry does not speak TLS (${
                networkErrorDetail(e)
              }); for a registry without TLS use --plain-http`
              : `Cannot ${req.what}: TLS error talking to ${this.host}: ${
                networkErrorDetail(e)
              } (for a private CA use --tlscacert FILE; for a registry without TLS --plain-http)`,
            undefined,
            { cause: e },
          );
        }
        if (attempt >= retries) {
          throw new RegistryError(
            `Cannot ${req.what}: cannot reach ${this.base}: ${networkErrorDetail(e)}`,
            undefined,
            { cause: e },
          );
        }
        this.#options.onRetry?.(`${req.what}: ${networkErrorDetail(e)}; retrying`);
        await sleep(wait);
        continue;
      }
      if (!RETRY_STATUS.has(res.status) || attempt >= retries) return res;
      const after = retryAfterMs(res.headers.get("retry-after"));
      await res.body?.cancel();
      const ms = after !== undefined ? Math.min(after, maxRetryAfter) : wait;
      this.#options.onRetry?.(`${req.what}: ${res.status} from ${this.host}; retrying`);
      await sleep(ms);
    }
  }

  /** A fetch that gives up when the headers of a body-less request do not come in time. */
  async #fetchWithTimeout(url: URL, init: RequestInit, what: string): Promise<Response> {
    const ms = this.#options.timeoutMs ?? 60_000;
    if (init.body !== undefined && init.body !== null) return await this.#fetch(url, init);
    const ac = new AbortController();
    const cancel = startTimer(ms, () => ac.abort(timeoutError(what, ms)));
    try {
      return await this.#fetch(url, { ...init, signal: ac.signal });
    } catch (e) {
      throw ac.signal.aborted ? ac.signal.reason : e;
    } finally {
      cancel();
    }
  }

  async #followRedirects(
    req: RegistryRequest,
    authorization: string | undefined,
  ): Promise<Response> {
    let url = new URL(req.path, this.base);
    let method = req.method;
    let body = await produceBody(req.body);
    const headers: Record<string, string> = { ...req.headers };
    // Credentials only ever go to the registry's own origin (an upload location on
    // another host gets none).
    if (authorization && url.origin === new URL(this.base).origin) {
      headers.authorization = authorization;
    }
    for (let hop = 0;; hop++) {
      const init: RequestInit & { duplex?: string } = {
        method,
        headers,
        body,
        redirect: "manual",
      };
      if (body instanceof ReadableStream) init.duplex = "half";
      let res = await this.#fetchWithTimeout(url, init, req.what);
      if (res.type === "opaqueredirect") {
        // A browser hides manual redirects: let it follow them (it drops Authorization
        // on a cross-origin hop).
        res = await this.#fetch(url, {
          ...init,
          body: await produceBody(req.body),
          redirect: "follow",
        });
        return res;
      }
      if (![301, 302, 303, 307, 308].includes(res.status)) return res;
      const location = res.headers.get("location");
      if (!location) return res;
      await res.body?.cancel();
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryError(`Cannot ${req.what}: more than ${MAX_REDIRECTS} redirects`);
      }
      url = new URL(location, url);
      // A redirect to another origin (blob storage) never carries the registry's
      // credentials, and once dropped they stay dropped; within the registry's own origin
      // they go on (as Go's client, so docker and containerd, do).
      if (url.origin !== new URL(this.base).origin) delete headers.authorization;
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = method === "HEAD" ? "HEAD" : "GET";
        body = undefined;
      } else if (body !== undefined) body = await produceBody(req.body);
    }
  }
}

function timeoutError(what: string, ms: number): TypeError {
  return new TypeError(`no answer within ${Math.round(ms / 1000)} s (${what})`);
}

function sameChallenge(a: Challenge, b: Challenge | undefined): boolean {
  return !!b && a.scheme === b.scheme && a.params.realm === b.params.realm &&
    a.params.service === b.params.service;
}

async function produceBody(body: RequestBody | undefined): Promise<BodyInit | undefined> {
  if (body === undefined) return undefined;
  if (typeof body === "function") return await body();
  return body as BodyInit;
}

/** The absolute URL of the `rel="next"` page of a `Link` header, if there is one. */
export function nextPage(res: Response, current: string): string | undefined {
  const link = res.headers.get("link");
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2])) {
      return new URL(m[1], current).href;
    }
  }
  return undefined;
}
