// This module is browser compatible.
/**
 * Which names an import creates, with containerd 1.6's `ctr images import` rules:
 * `io.containerd.image.name` wins; an `org.opencontainers.image.ref.name` that is only a
 * tag gets the base name (default `import-<yyyy-mm-dd>`); a full reference is kept, but
 * with `--base-name` only when it starts with that base; `--digests` adds
 * `<base>@<digest>` for every entry (`--skip-digest-for-named` only for unnamed ones).
 *
 * @example
 * ```ts
 * import { importNames } from "./names.ts";
 * const d = {
 *   mediaType: "application/vnd.oci.image.manifest.v1+json",
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2,
 *   annotations: { "org.opencontainers.image.ref.name": "v1" },
 * } as const;
 * console.log(importNames([d], { baseName: "example.com/app" }).map((r) => r.name));
 * // [ "example.com/app:v1" ]
 * ```
 * @module
 */
import { CONTAINERD_NAME, OCI_REF_NAME } from "../media_types.ts";
import { InvalidInputError } from "../errors.ts";
import { parseReference } from "../reference.ts";
import type { ImageRecord } from "../store/types.ts";
import type { Annotations, Descriptor } from "../types.ts";

/** The `org.opencontainers.image.ref.name` containerd writes for a full name: the tag. */
export function ociRefName(name: string): string {
  try {
    const r = parseReference(name);
    if (r.tag) return r.digest ? `${r.tag}@${r.digest}` : r.tag;
    if (r.digest) return `@${r.digest}`;
  } catch {
    // fall through
  }
  return name;
}

/** Naming options, as `ctr images import` takes them. */
export interface NameOptions {
  /** Base name for tag-only references; filters full references by prefix. */
  readonly baseName?: string;
  /** Also name every entry `<base>@<digest>`. */
  readonly digests?: boolean;
  /** With `digests`: only for entries that got no other name. */
  readonly skipDigestForNamed?: boolean;
  /** The date used for the default base name. */
  readonly now?: Date;
}

/**
 * `import-2026-11-27` for the given date in the local time zone, as ctr's
 * `time.Now().Format("2006-01-02")`.
 */
export function defaultBaseName(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `import-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function hasImagePrefix(ref: string, prefix: string): boolean {
  if (!ref.startsWith(prefix)) return false;
  if (ref.length === prefix.length) return true;
  return "/:@".includes(ref[prefix.length]);
}

/** The name one index entry gets (undefined: none). */
export function entryName(
  annotations: Annotations | undefined,
  options: NameOptions = {},
): string | undefined {
  const full = annotations?.[CONTAINERD_NAME];
  if (full) return full;
  const ref = annotations?.[OCI_REF_NAME];
  if (!ref) return undefined;
  const base = options.baseName ?? defaultBaseName(options.now);
  if (/[/:@]/.test(ref)) {
    if (options.baseName !== undefined && !hasImagePrefix(ref, options.baseName)) return undefined;
    return ref;
  }
  return `${base}:${ref}`;
}

/** Removes the naming annotations from a descriptor (the store writes its own). */
export function withoutNameAnnotations(d: Descriptor): Descriptor {
  if (!d.annotations) return d;
  const { [CONTAINERD_NAME]: _a, [OCI_REF_NAME]: _b, ...rest } = d.annotations;
  const { annotations: _c, ...plain } = d;
  return Object.keys(rest).length ? { ...plain, annotations: rest } : plain;
}

/**
 * Refuses a name that is not a valid image reference (control characters, spaces, a
 * 300,000-character name, uppercase repositories...), naming the entry and the annotation
 * it came from: such a name could not be pulled, pushed or typed, and could forge rows
 * of `images ls`.
 */
function checkName(name: string, index: number, annotation: string): void {
  try {
    parseReference(name);
  } catch (e) {
    throw new InvalidInputError(
      `index.json manifests[${index}]: annotation ${annotation} does not give a valid image name: ${
        (e as Error).message
      }`,
    );
  }
}

/** Every name an import of these top-level entries creates, in order, deduplicated. */
export function importNames(
  entries: readonly Descriptor[],
  options: NameOptions = {},
): ImageRecord[] {
  const out = new Map<string, ImageRecord>();
  const base = options.baseName ?? defaultBaseName(options.now);
  for (const [i, e] of entries.entries()) {
    const target = withoutNameAnnotations(e);
    const name = entryName(e.annotations, options);
    if (name) {
      checkName(name, i, e.annotations?.[CONTAINERD_NAME] ? CONTAINERD_NAME : OCI_REF_NAME);
      out.set(name, { name, target });
    }
    if (options.digests && !(options.skipDigestForNamed && name)) {
      const byDigest = `${base}@${e.digest}`;
      out.set(byDigest, { name: byDigest, target });
    }
  }
  return [...out.values()];
}
