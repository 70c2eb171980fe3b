/**
 * `lading remote tags|digest|manifest|config|referrers <ref>`: read a registry without
 * touching the store.
 * @module
 */
import { digestBytes } from "../digest.ts";
import { DigestMismatchError, LimitExceededError, NotFoundError } from "../errors.ts";
import { isIndexMediaType } from "../media_types.ts";
import { choosePlatformManifest, formatPlatform } from "../platform.ts";
import { formatReference, parseReference, type Reference } from "../reference.ts";
import type { RegistryClient } from "../registry/client.ts";
import { getRuntime } from "../runtime/mod.ts";
import { parseIndex, parseManifest } from "../schema.ts";
import { readAllBytes } from "../store/blob.ts";
import {
  type CliIO,
  type Command,
  type FlagDef,
  formatBytes,
  json,
  JSON_FLAG,
  parseCommand,
  type Parsed,
  platformsOf,
  QUIET_FLAG,
  UsageError,
} from "./common.ts";
import { clientFlags, clientFor, REGISTRY_FLAGS } from "./registry_common.ts";

async function setup(
  args: string[],
  io: CliIO,
  command: Command,
): Promise<{ f: Parsed; ref: Reference; client: RegistryClient }> {
  const f = parseCommand(args, command);
  if (f.positionals.length !== 1) {
    throw new UsageError(`${command.path.join(" ")} takes exactly one reference`);
  }
  const ref = parseReference(f.positionals[0]);
  const client = await clientFor(ref.domain, clientFlags(f.values), io, {
    onWarning: (m) => {
      if (!f.values.json) io.err(`warning: ${m}\n`);
    },
  });
  return { f, ref, client };
}

function wanted(ref: Reference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

const REMOTE_FLAGS: readonly FlagDef[] = [...REGISTRY_FLAGS, JSON_FLAG, QUIET_FLAG];
const REMOTE_PLATFORM: FlagDef = {
  name: "platform",
  kind: "string",
  value: "P",
  help: "of an index, the manifest of this platform",
};

/** `remote tags`. */
export const remoteTags: Command = {
  path: ["remote", "tags"],
  summary: "list the tags of a registry repository",
  args: "<ref>",
  flags: [...REMOTE_FLAGS],
  examples: ["lading remote tags docker.io/library/busybox"],
  async run(args, io) {
    const { f, ref, client } = await setup(args, io, remoteTags);
    const tags = await client.tags(ref.path);
    if (f.values.json) io.out(json({ name: `${ref.domain}/${ref.path}`, tags }));
    else io.out(tags.map((t) => `${t}\n`).join(""));
    return 0;
  },
};

/** `remote digest`. */
export const remoteDigest: Command = {
  path: ["remote", "digest"],
  summary: "print the digest a tag resolves to",
  args: "<ref>",
  flags: [...REMOTE_FLAGS],
  examples: ["lading remote digest docker.io/library/busybox:1.36"],
  async run(args, io) {
    const { f, ref, client } = await setup(args, io, remoteDigest);
    const { descriptor } = await client.resolve(ref.path, wanted(ref));
    if (f.values.json) {
      io.out(json({ ref: formatReference(ref), ...descriptor }));
    } else io.out(`${descriptor.digest}\n`);
    return 0;
  },
};

async function platformManifest(
  client: RegistryClient,
  ref: Reference,
  f: Parsed,
): Promise<{ descriptor: import("../types.ts").Descriptor; bytes: Uint8Array }> {
  const platforms = platformsOf(f.values);
  if (platforms.length > 1) {
    throw new UsageError(`--platform takes one platform here`);
  }
  const root = await client.resolve(ref.path, wanted(ref));
  if (!isIndexMediaType(root.descriptor.mediaType)) return root;
  const index = parseIndex(root.bytes, {
    what: `index ${formatReference(ref)}`,
    descriptor: root.descriptor,
  });
  const chosen = choosePlatformManifest(index.manifests, platforms[0]);
  if (!chosen) {
    const have = index.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!));
    throw new NotFoundError(
      `no manifest for ${platforms.length ? formatPlatform(platforms[0]) : "this platform"} in ${
        formatReference(ref)
      } (it has ${have.join(", ") || "none"})`,
    );
  }
  return { descriptor: chosen, bytes: await client.fetchManifest(ref.path, chosen) };
}

/** `remote manifest`. */
export const remoteManifest: Command = {
  path: ["remote", "manifest"],
  summary: "print a manifest or index exactly as the registry serves it",
  args: "<ref>",
  flags: [REMOTE_PLATFORM, ...REMOTE_FLAGS],
  examples: ["lading remote manifest --platform linux/arm64 docker.io/library/busybox:1.36"],
  async run(args, io) {
    const { f, ref, client } = await setup(args, io, remoteManifest);
    const m = platformsOf(f.values).length
      ? await platformManifest(client, ref, f)
      : await client.resolve(ref.path, wanted(ref));
    if (f.values.json) {
      io.out(json({
        ref: formatReference(ref),
        ...m.descriptor,
        manifest: JSON.parse(new TextDecoder().decode(m.bytes)),
      }));
    } else {
      const w = io.stdout.getWriter();
      await w.write(m.bytes);
      w.releaseLock();
      if (io.stderrIsTerminal) io.out("\n");
    }
    return 0;
  },
};

/** `remote config`. */
export const remoteConfig: Command = {
  path: ["remote", "config"],
  summary: "print the image config (the host's platform under an index, or --platform)",
  args: "<ref>",
  flags: [REMOTE_PLATFORM, ...REMOTE_FLAGS],
  examples: ["lading remote config docker.io/library/busybox:1.36 | jq .config"],
  async run(args, io) {
    const { f, ref, client } = await setup(args, io, remoteConfig);
    const m = await platformManifest(client, ref, f);
    const manifest = parseManifest(m.bytes, {
      what: `manifest ${m.descriptor.digest}`,
      descriptor: m.descriptor,
    });
    const config = manifest.config;
    const limit = 4 * 1024 * 1024;
    if (config.size > limit) {
      throw new LimitExceededError(
        `Cannot fetch config ${config.digest} of ${
          formatReference(ref)
        }: it has ${config.size} bytes, more than the ${limit}-byte limit`,
      );
    }
    const bytes = await readAllBytes(
      await client.fetchBlob(ref.path, config),
      limit,
      `config ${config.digest}`,
    );
    const actual = await digestBytes(
      await getRuntime(),
      bytes,
      { algorithm: config.digest.startsWith("sha512:") ? "sha512" : "sha256" },
    );
    if (actual !== config.digest) {
      throw new DigestMismatchError(
        `Cannot fetch config ${config.digest} of ${
          formatReference(ref)
        }: the bytes hash to ${actual}`,
        config.digest,
        actual,
      );
    }
    if (f.values.json) io.out(json(JSON.parse(new TextDecoder().decode(bytes))));
    else {
      const w = io.stdout.getWriter();
      await w.write(bytes);
      w.releaseLock();
    }
    return 0;
  },
};

/** `remote referrers`. */
export const remoteReferrers: Command = {
  path: ["remote", "referrers"],
  summary: "list the artifacts that refer to an image (referrers API or the fallback tag)",
  args: "<ref>",
  flags: [{
    name: "artifact-type",
    kind: "string",
    value: "T",
    help: "only referrers of this artifact type",
  }, ...REMOTE_FLAGS],
  examples: ["lading remote referrers registry.example.com/app@sha256:4c1d0f5a2b3e..."],
  async run(args, io) {
    const { f, ref, client } = await setup(args, io, remoteReferrers);
    const digest = ref.digest ?? (await client.resolve(ref.path, wanted(ref))).descriptor.digest;
    const list = await client.referrers(ref.path, digest, {
      artifactType: f.values["artifact-type"] as string | undefined,
    });
    if (f.values.json) io.out(json({ subject: digest, referrers: list }));
    else {
      for (const d of list) {
        io.out(`${d.digest} ${d.artifactType ?? d.mediaType} ${formatBytes(d.size)}\n`);
      }
    }
    return 0;
  },
};
