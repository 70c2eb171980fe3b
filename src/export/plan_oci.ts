// This module is browser compatible.
/**
 * The plan of an oci-archive: every name's graph walked (after the platform selection,
 * which may rewrite an index), index.json written the way containerd writes it.
 * @module
 */
import type { Digest } from "../digest.ts";
import { shortDigest } from "../digest.ts";
import { ociRefName } from "../import/names.ts";
import { CONTAINERD_NAME, isNonDistributable, OCI_INDEX, OCI_REF_NAME } from "../media_types.ts";
import { formatPlatform, isAttestation } from "../platform.ts";
import type { ImageSource } from "../store/types.ts";
import type { Descriptor } from "../types.ts";
import {
  childrenOf,
  configPlatform,
  mayHaveChildren,
  readConfig,
  readDocument,
  walk,
} from "../walk.ts";
import { blobPath } from "./docker.ts";
import {
  blobDirectories,
  type Collected,
  type Member,
  missingError,
  presentForExport,
  resolveRecords,
} from "./members.ts";
import { type Selection, selectPlatforms, SUBSET_OF_ANNOTATION } from "./select.ts";
import type { ExportedImage, ExportOptions } from "./types.ts";

const enc = new TextEncoder();
const GO_DESCRIPTOR_ORDER = [
  "mediaType",
  "digest",
  "size",
  "urls",
  "annotations",
  "data",
  "platform",
  "artifactType",
];

/** A descriptor with fields in Go's struct order and annotation keys sorted (like containerd). */
function goDescriptor(
  d: Descriptor,
  annotations?: Record<string, string>,
): Record<string, unknown> {
  const src: Record<string, unknown> = { ...d };
  const merged = { ...d.annotations, ...annotations };
  if (Object.keys(merged).length) {
    src.annotations = Object.fromEntries(
      Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }
  const out: Record<string, unknown> = {};
  for (const k of GO_DESCRIPTOR_ORDER) if (src[k] !== undefined) out[k] = src[k];
  for (const k of Object.keys(src)) if (!(k in out)) out[k] = src[k];
  return out;
}

function isForeign(d: Descriptor): boolean {
  return isNonDistributable(d.mediaType) || (d.urls !== undefined && d.urls.length > 0);
}

/** Plans the members of an oci-archive of `names`. */
export async function planOci(
  store: ImageSource,
  names: readonly string[],
  options: ExportOptions,
  note: (m: string) => void,
): Promise<Collected> {
  const platforms = options.platforms ?? [];
  const blobs = new Map<Digest, Descriptor>();
  const documents = new Map<Digest, Uint8Array>();
  const missing: { digest: Digest; mediaType: string; image: string }[] = [];
  const skipped = new Map<Digest, Descriptor>();
  const images: ExportedImage[] = [];
  const entries: Record<string, unknown>[] = [];
  const docOptions = { maxJsonBytes: options.maxJsonBytes, onWarning: options.onWarning };
  for (const { record, named } of await resolveRecords(store, names)) {
    const name = record.name;
    const selection: Selection = await selectPlatforms(store, record.target, platforms, {
      rewrite: !options.keepIndex,
      name,
      maxJsonBytes: options.maxJsonBytes,
      runtime: options.runtime,
      onWarning: options.onWarning,
    });
    for (const [d, bytes] of selection.documents) documents.set(d, bytes);
    const present = new Set<string>();
    await walk([selection.target], async (d) => {
      if (d.platform && !isAttestation(d)) present.add(formatPlatform(d.platform));
      const rewritten = selection.documents.get(d.digest);
      if (rewritten) {
        blobs.set(d.digest, d);
        return selection.children.get(d.digest) ?? [];
      }
      if (options.skipNonDistributable && isForeign(d)) {
        skipped.set(d.digest, d);
        return [];
      }
      if (!(await presentForExport(store, d, name))) {
        if (isForeign(d)) skipped.set(d.digest, d);
        else missing.push({ digest: d.digest, mediaType: d.mediaType, image: name });
        return [];
      }
      blobs.set(d.digest, d);
      const only = selection.children.get(d.digest);
      if (only) return only;
      if (!mayHaveChildren(d)) return [];
      const doc = await readDocument(store, d, docOptions);
      if (doc?.kind === "manifest" && !d.platform && present.size === 0) {
        if (await store.has(doc.manifest.config.digest)) {
          const c = await readConfig(store, doc.manifest.config, docOptions).catch(() => undefined);
          if (c) present.add(formatPlatform(configPlatform(c)));
        }
      }
      return childrenOf(doc);
    }, {});
    const target = selection.target;
    const rewrite = selection.rewrites.find((r) => r.to === target.digest);
    for (const r of selection.rewrites) {
      note(
        `${name}: index ${shortDigest(r.from)} rewritten as ${r.to} with ${r.kept} of ${
          r.kept + r.dropped
        } entries (${
          selection.platforms.join(", ")
        }); it carries the annotation ${SUBSET_OF_ANNOTATION}=${r.from}`,
      );
    }
    if (options.keepIndex && selection.children.size) {
      note(
        `${name}: the archive holds the original index ${
          shortDigest(target.digest)
        } but only the content of ${
          selection.platforms.join(", ")
        }; import it with --allow-missing`,
      );
    }
    images.push({
      name,
      digest: target.digest,
      mediaType: target.mediaType,
      platforms: platforms.length ? selection.platforms : [...present].sort(),
      ...(rewrite ? { rewrittenFrom: record.target.digest } : {}),
    });
    entries.push(
      goDescriptor(
        target,
        named ? { [CONTAINERD_NAME]: name, [OCI_REF_NAME]: ociRefName(name) } : undefined,
      ),
    );
  }
  if (missing.length) throw missingError(missing);
  for (const d of skipped.values()) {
    note(`non-distributable blob ${d.digest} (${d.mediaType}) is not included`);
  }
  const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries };
  const members: Member[] = [
    ...blobDirectories(blobs.values()),
    { path: "oci-layout", size: 30, bytes: enc.encode('{"imageLayoutVersion":"1.0.0"}') },
  ];
  const indexBytes = enc.encode(JSON.stringify(index));
  members.push({ path: "index.json", size: indexBytes.byteLength, bytes: indexBytes });
  for (const d of blobs.values()) {
    const bytes = documents.get(d.digest);
    members.push(
      bytes
        ? { path: blobPath(d), size: bytes.byteLength, bytes }
        : { path: blobPath(d), size: d.size, blob: d },
    );
  }
  const sorted = [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : 1));
  return { members, images, blobs: sorted, skipped: [...skipped.values()] };
}
