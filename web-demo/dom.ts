/// <reference lib="dom" />
/**
 * Tiny DOM helpers shared by the page's modules.
 * @module
 */
import { shortDigest } from "../src/digest.ts";

/** Sizes on the page: the CLI's function and units (`1.2 kB`, `34 MB`). */
export { formatBytes } from "../src/format.ts";

/** `sha256:ab12cd34ef56…` */
export const shortDigestText = (digest: string): string => shortDigest(digest);

/** The element with id `id`. */
export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Creates an element with properties (aria-*, data-* and role as attributes) and children. */
export const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & Record<string, unknown> = {},
  ...children: (Node | string | undefined | false)[]
): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined) continue;
    if (k.startsWith("aria-") || k.startsWith("data-") || k === "role") {
      e.setAttribute(k, String(v));
    } else (e as unknown as Record<string, unknown>)[k] = v;
  }
  for (const c of children) if (c !== undefined && c !== false) e.append(c);
  return e;
};

/** Triggers a download of `blob`. */
export function download(blob: Blob, fileName: string) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: fileName });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * A plain-words error line: no class names, no repeated prefix, ending with `tail` when
 * given ("Nothing was stored.").
 */
export function plainError(e: unknown, what?: string, tail?: string): string {
  let message = e instanceof Error ? e.message : String(e);
  message = message.trim().replace(/\s*\((?:[A-Z][A-Za-z]*Error|WorkerError)\)$/, "");
  if (what) {
    // "Cannot import x: Cannot import archive: …" → ours once, theirs dropped.
    for (let m; (m = /^cannot [a-z]+\b[^:]{0,120}:\s*/i.exec(message));) {
      message = message.slice(m[0].length);
    }
    message = `${what}: ${message}`;
  }
  if (!/[.!?]$/.test(message)) message += ".";
  return tail ? `${message} ${tail}` : message;
}

/** True for a cancel by the user. */
export function isCancel(e: unknown): boolean {
  return e instanceof Error &&
    (e.name === "AbortError" || e.name === "CancelledError" ||
      /cancell?ed by the user|: cancell?ed$/i.test(e.message));
}
