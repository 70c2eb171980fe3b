// This module is browser compatible.
/**
 * Registry authentication: `WWW-Authenticate` challenges (Basic, Bearer with realm,
 * service and scope), token requests (anonymous, Basic, identity tokens through
 * `POST` oauth2 with a `GET` fallback) and a token cache per realm, service and scopes
 * that lasts until `expires_in`.
 *
 * @example
 * ```ts
 * import { parseChallenges } from "@lading/oci";
 * const [c] = parseChallenges(
 *   'Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"',
 * );
 * console.log(c.scheme, c.params.service); // bearer registry
 * ```
 * @module
 */
import { RegistryError } from "../errors.ts";

/** Credentials for one registry host. Never logged, never sent to another host. */
export type Credentials =
  | { readonly username: string; readonly password: string; readonly identityToken?: undefined }
  | { readonly identityToken: string; readonly username?: string; readonly password?: undefined };

/** Looks up the credentials of a registry host (`127.0.0.1:5000`, `ghcr.io`). */
export type CredentialLookup = (host: string) => Promise<Credentials | undefined>;

/** One challenge from a `WWW-Authenticate` header. */
export interface Challenge {
  /** Lowercase scheme: `basic`, `bearer`. */
  readonly scheme: string;
  /** Parameters, names lowercased: `realm`, `service`, `scope`, `error`. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a `WWW-Authenticate` header into its challenges (RFC 7235: a scheme followed by
 * comma-separated `name=value` or `name="quoted value"` parameters).
 *
 * @example
 * ```ts
 * import { parseChallenges } from "@lading/oci";
 * console.log(parseChallenges('Basic realm="Registry Realm"')[0].params.realm); // Registry Realm
 * ```
 */
export function parseChallenges(header: string): Challenge[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const s = header;
  const skipSpace = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  while (i < s.length) {
    skipSpace();
    if (s[i] === ",") {
      i++;
      continue;
    }
    const tokenMatch = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(s.slice(i));
    if (!tokenMatch) break;
    const token = tokenMatch[0];
    i += token.length;
    skipSpace();
    if (s[i] === "=" && out.length) {
      // A parameter of the current challenge.
      i++;
      skipSpace();
      let value = "";
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          value += s[i++];
        }
        i++;
      } else {
        const m = /^[^,\s]*/.exec(s.slice(i))!;
        value = m[0];
        i += value.length;
      }
      out[out.length - 1].params[token.toLowerCase()] = value;
      skipSpace();
      if (s[i] === ",") i++;
    } else {
      out.push({ scheme: token.toLowerCase(), params: {} });
    }
  }
  return out;
}

interface CachedToken {
  readonly token: string;
  readonly expires: number;
}

/** Options of {@link TokenCache.token}. */
export interface TokenRequest {
  /** The token server (the challenge's `realm`). */
  readonly realm: string;
  /** The challenge's `service`. */
  readonly service?: string;
  /** The scopes asked for (`repository:library/alpine:pull`). */
  readonly scopes: readonly string[];
  /** Credentials for the token server, when there are any. */
  readonly credentials?: Credentials;
}

const textEncoder = new TextEncoder();

/** Base64 of a UTF-8 string (for Basic credentials). */
export function base64Utf8(s: string): string {
  let bin = "";
  for (const b of textEncoder.encode(s)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The `Authorization` value of Basic credentials. */
export function basicAuthorization(c: { username: string; password: string }): string {
  return `Basic ${base64Utf8(`${c.username}:${c.password}`)}`;
}

/**
 * Bearer tokens from token servers, cached per realm, service, scopes and credentials
 * until `expires_in` (60 s when the server does not say; renewed 10 s early).
 *
 * @example
 * ```ts
 * import { TokenCache } from "@lading/oci";
 * // A token server that hands out one token (a real one checks the credentials and scopes).
 * const tokens = new TokenCache({
 *   fetch: (input) =>
 *     Promise.resolve(Response.json({ token: `t-${new URL(String(input)).searchParams.get("scope")}`, expires_in: 300 })),
 * });
 * const request = { realm: "https://auth.test/token", service: "registry.test", scopes: ["repository:team/app:pull"] };
 * console.log(await tokens.token(request)); // t-repository:team/app:pull
 * console.log(await tokens.token(request)); // the same token, from the cache
 * ```
 */
export class TokenCache {
  #fetch: typeof fetch;
  #now: () => number;
  #cache = new Map<string, CachedToken>();
  /** Realms whose oauth2 `POST` failed with 404/405: use `GET` from then on. */
  #noPost = new Set<string>();

  /** A cache that fetches tokens with `fetch`; `now` is for tests. */
  constructor(options: { fetch: typeof fetch; now?: () => number }) {
    // Called as a plain function (a browser's own fetch throws "Illegal invocation" as a method).
    const f = options.fetch;
    this.#fetch = (input, init) => f(input, init);
    this.#now = options.now ?? Date.now;
  }

  #key(r: TokenRequest): string {
    const who = r.credentials
      ? (r.credentials.identityToken !== undefined
        ? `id:${r.credentials.identityToken}`
        : `u:${r.credentials.username}:${r.credentials.password}`)
      : "anonymous";
    return JSON.stringify([r.realm, r.service ?? "", [...r.scopes].sort(), who]);
  }

  /** Forgets the token of a request (the registry refused it). */
  forget(r: TokenRequest): void {
    this.#cache.delete(this.#key(r));
  }

  /** A token for the request, from the cache or the realm. @throws {RegistryError} */
  async token(r: TokenRequest): Promise<string> {
    const key = this.#key(r);
    const cached = this.#cache.get(key);
    if (cached && cached.expires > this.#now()) return cached.token;
    const { token, expiresIn } = await this.#request(r);
    this.#cache.set(key, { token, expires: this.#now() + Math.max(0, expiresIn - 10) * 1000 });
    return token;
  }

  async #request(r: TokenRequest): Promise<{ token: string; expiresIn: number }> {
    let realm: URL;
    try {
      realm = new URL(r.realm);
    } catch {
      throw new RegistryError(
        `authentication failed: the registry's token realm ${JSON.stringify(r.realm)} is not a URL`,
      );
    }
    const c = r.credentials;
    if (c?.identityToken !== undefined && !this.#noPost.has(realm.href)) {
      // OAuth2 refresh-token grant (docker's identity tokens).
      const form = new URLSearchParams();
      form.set("grant_type", "refresh_token");
      form.set("refresh_token", c.identityToken);
      form.set("client_id", "lading");
      if (r.service) form.set("service", r.service);
      if (r.scopes.length) form.set("scope", r.scopes.join(" "));
      const res = await this.#send(realm, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
      });
      // Token servers without the oauth2 form answer 404 or 405 (GCR), 400 (ACR) or 401
      // (Artifactory): ask them with GET, as containerd does.
      if ([400, 401, 404, 405].includes(res.status)) {
        await res.body?.cancel();
        this.#noPost.add(realm.href);
      } else return await this.#answer(res, realm);
    }
    const url = new URL(realm);
    if (r.service) url.searchParams.set("service", r.service);
    for (const s of r.scopes) url.searchParams.append("scope", s);
    const headers: Record<string, string> = {};
    if (c?.identityToken !== undefined) {
      // The identity token as the Basic password (containerd's fallback), never in the
      // URL, where logs and proxies would keep it.
      headers.authorization = basicAuthorization({
        username: c.username ?? "<token>",
        password: c.identityToken,
      });
    } else if (c) {
      headers.authorization = basicAuthorization(c);
      url.searchParams.set("account", c.username);
    }
    return await this.#answer(await this.#send(url, { method: "GET", headers }), realm);
  }

  async #send(url: URL, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(url, { ...init, redirect: "follow" });
    } catch (e) {
      throw new RegistryError(
        `authentication failed: cannot reach the token server ${url.origin}: ${
          networkErrorDetail(e)
        }`,
        undefined,
        { cause: e },
      );
    }
  }

  async #answer(res: Response, realm: URL): Promise<{ token: string; expiresIn: number }> {
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      const detail = errorDetail(text);
      throw new RegistryError(
        `authentication failed: the token server ${realm.origin} answered ${res.status}${
          detail ? ` (${detail})` : ""
        }${res.status === 401 || res.status === 403 ? ": wrong or missing credentials" : ""}`,
        res.status,
      );
    }
    let body: Record<string, unknown>;
    try {
      body = await res.json();
    } catch {
      throw new RegistryError(
        `authentication failed: the token server ${realm.origin} did not answer JSON`,
      );
    }
    const token = typeof body.token === "string" && body.token
      ? body.token
      : typeof body.access_token === "string"
      ? body.access_token
      : "";
    if (!token) {
      throw new RegistryError(
        `authentication failed: the token server ${realm.origin} answered without a token`,
      );
    }
    const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0
      ? body.expires_in
      : 60;
    return { token, expiresIn };
  }
}

/**
 * The message of a registry's JSON error body (`{"errors":[{"code","message"}]}`), or
 * a short plain-text body; empty when there is nothing useful.
 */
export function errorDetail(text: string): string {
  try {
    const v = JSON.parse(text);
    if (Array.isArray(v?.errors) && v.errors.length) {
      return v.errors.map((e: { code?: string; message?: string }) =>
        [e.code, e.message].filter((x) => typeof x === "string" && x).join(": ")
      ).join("; ").slice(0, 300);
    }
    if (typeof v?.error === "string") return v.error.slice(0, 300);
    if (typeof v?.details === "string") return v.details.slice(0, 300);
  } catch {
    // not JSON
  }
  const line = text.trim().split("\n")[0] ?? "";
  return line.length <= 200 && !line.startsWith("<") ? line : "";
}

/**
 * The most telling words of a network error: the innermost cause's message (Deno says
 * only "fetch failed" and puts the reason in `cause`), without the request's URL (it
 * may carry query parameters) and the client's wrapping.
 */
export function networkErrorDetail(e: unknown): string {
  let inner: unknown = e;
  for (let i = 0; i < 5; i++) {
    const cause = (inner as { cause?: unknown })?.cause;
    if (!(cause instanceof Error)) break;
    inner = cause;
  }
  const message = inner instanceof Error ? inner.message : String(inner);
  return message
    .replace(/error sending request for url \([^)]*\):\s*/gi, "")
    .replace(/^(client error \(\w+\):\s*)+/i, "")
    .replace(/https?:\/\/\S+/g, (u) => u.replace(/[?#].*$/, ""))
    .trim() || "network error";
}
