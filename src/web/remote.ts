// This module is browser compatible.
/**
 * What the page needs to talk to a registry: read what the user typed (a registry URL or
 * a reference), send requests through a CORS proxy the user names, keep typed credentials
 * in memory for that one host, and turn the browser's opaque network failure into plain
 * words ("blocked by CORS or unreachable").
 *
 * @example
 * ```ts
 * import { parseRemoteInput, proxiedUrl } from "./remote.ts";
 * const t = parseRemoteInput("http://127.0.0.1:5000/team/app:1");
 * console.log(t.ref, t.plainHttp); // 127.0.0.1:5000/team/app:1 true
 * console.log(proxiedUrl("https://proxy.example/?url={url}", "https://ghcr.io/v2/"));
 * // https://proxy.example/?url=https%3A%2F%2Fghcr.io%2Fv2%2F
 * ```
 * @module
 */
import { RegistryError } from "../errors.ts";
import { parseReference } from "../reference.ts";
import type { CredentialLookup } from "../registry/auth.ts";

/** A registry reference as the page uses it. */
export interface RemoteTarget {
  /** The registry host (`127.0.0.1:5000`, `ghcr.io`). */
  readonly host: string;
  /** The reference without a scheme (`127.0.0.1:5000/team/app:1`). */
  readonly ref: string;
  /** `http://` was typed. */
  readonly plainHttp: boolean;
}

/**
 * Reads `http://host/repo:tag`, `https://host/repo:tag` or a plain reference (https).
 *
 * @throws {TypeError} when it is empty or not an image reference.
 */
export function parseRemoteInput(input: string): RemoteTarget {
  let text = input.trim();
  let plainHttp = false;
  const scheme = /^(https?):\/\//i.exec(text);
  if (scheme) {
    plainHttp = scheme[1].toLowerCase() === "http";
    text = text.slice(scheme[0].length);
  }
  text = text.replace(/^\/+/, "");
  if (!text) throw new TypeError("Type an image reference, e.g. http://127.0.0.1:5000/team/app:1");
  let host: string;
  try {
    host = parseReference(text).domain;
  } catch (e) {
    throw new TypeError(`"${input.trim()}" is not an image reference: ${(e as Error).message}`);
  }
  return { host, ref: text, plainHttp };
}

/**
 * The URL to request through a CORS proxy: `{url}` in the proxy is replaced by the encoded
 * target URL; otherwise the target URL is appended (cors-anywhere style).
 */
export function proxiedUrl(proxy: string, url: string): string {
  return proxy.includes("{url}")
    ? proxy.replace("{url}", encodeURIComponent(url))
    : `${proxy}${url}`;
}

/** A `fetch` that sends every request through `proxy` (none: `base` itself). */
export function proxiedFetch(proxy: string | undefined, base: typeof fetch = fetch): typeof fetch {
  const p = proxy?.trim();
  // Always a plain function: a browser's fetch called as another object's method throws
  // "Illegal invocation".
  if (!p) return (input, init) => base(input, init);
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    return base(proxiedUrl(p, url), init);
  };
}

/**
 * Credentials typed into the page, for `host` only, held in this closure (never written
 * anywhere). Empty user name: anonymous.
 */
export function typedCredentials(
  host: string,
  username: string,
  password: string,
): CredentialLookup {
  return (h) =>
    Promise.resolve(
      username && h === host ? { username, password } : undefined,
    );
}

/**
 * One plain sentence for a failure. A request the browser refused to show (no status, a
 * `TypeError` underneath) is "blocked by CORS or unreachable": the browser hides which.
 */
export function plainRegistryError(e: unknown, host: string): string {
  if (e instanceof RegistryError && e.status === undefined && e.cause instanceof TypeError) {
    return `blocked by CORS or unreachable: the registry ${host} must allow requests from ` +
      `this page (Access-Control-Allow-Origin), or name a CORS proxy`;
  }
  return e instanceof Error ? e.message : String(e);
}
