// This module is browser compatible.
/**
 * The referrers API's answer, which may come in pages (`Link: <…>; rel="next"`): every
 * page is an OCI index; the pages are followed to the end, at most
 * {@link MAX_REFERRER_PAGES}, and a page that links back or is not an index is refused (no
 * partial list).
 *
 * @example
 * ```ts
 * import { readReferrerPages } from "./referrers.ts";
 * const index = { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] };
 * const page = () => Response.json(index);
 * const { list } = await readReferrerPages(page(), {
 *   url: "http://reg.test/v2/a/referrers/x",
 *   what: "list referrers",
 *   get: () => Promise.resolve(page()),
 *   isIndexPage: (r) => r.ok,
 *   fail: () => Promise.reject(new Error("failed")),
 * });
 * console.log(list.length); // 0
 * ```
 * @module
 */
import { RegistryError } from "../errors.ts";
import { DEFAULT_JSON_LIMIT, parseIndex } from "../schema.ts";
import { readAllBytes } from "../store/blob.ts";
import type { Descriptor } from "../types.ts";
import { nextPage } from "./transport.ts";

/** Pages of a referrers list followed at most (a registry that never ends is refused). */
export const MAX_REFERRER_PAGES = 1000;

/** How {@link readReferrerPages} reaches the pages after the first. */
export interface ReferrerPagesOptions {
  /** The absolute URL of the first page (relative `Link`s resolve against it). */
  readonly url: string;
  /** For messages: `list referrers of host/repo@sha256:…`. */
  readonly what: string;
  /** GETs a page. */
  readonly get: (url: string) => Promise<Response>;
  /** True for a page that is an OCI index. */
  readonly isIndexPage: (res: Response) => boolean;
  /** Throws the error of a failed response. */
  readonly fail: (res: Response) => Promise<never>;
}

/**
 * Every descriptor of the referrers API's answer, from `first` (an index page) through its
 * `rel="next"` pages; `filtered` when every page says the registry applied the
 * `artifactType` filter.
 */
export async function readReferrerPages(
  first: Response,
  options: ReferrerPagesOptions,
): Promise<{ list: Descriptor[]; filtered: boolean }> {
  const { what } = options;
  const list: Descriptor[] = [];
  let filtered = true;
  const seen = new Set<string>();
  let page = first;
  let url = options.url;
  for (let n = 1;; n++) {
    const bytes = await readAllBytes(page.body!, DEFAULT_JSON_LIMIT, what);
    list.push(...parseIndex(bytes, { what }).manifests);
    filtered &&= !!page.headers.get("oci-filters-applied")?.includes("artifactType");
    seen.add(url);
    const next = nextPage(page, url);
    if (!next) return { list, filtered };
    if (seen.has(next)) {
      throw new RegistryError(`Cannot ${what}: the registry's pages link back to ${next}`);
    }
    if (n >= MAX_REFERRER_PAGES) {
      throw new RegistryError(
        `Cannot ${what}: the registry sends more than ${MAX_REFERRER_PAGES} pages of referrers`,
      );
    }
    url = next;
    page = await options.get(next);
    if (!options.isIndexPage(page)) {
      if (!page.ok) return await options.fail(page);
      await page.body?.cancel();
      throw new RegistryError(
        `Cannot ${what}: page ${n + 1} is not an OCI index (${
          page.headers.get("content-type") ?? "no content type"
        })`,
      );
    }
  }
}
