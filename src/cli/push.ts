/**
 * `lading push` (store → registry) and `lading copy` (registry → registry): children
 * first, exact bytes, then the tag; `HEAD` before upload; mounts within a registry.
 * @module
 */
import { MissingContentError } from "../errors.ts";
import { parseReference } from "../reference.ts";
import { copyImage, pushImage, type PushResult } from "../registry/pull.ts";
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
import { openStoreForReading } from "./store_open.ts";
import {
  type ClientFlags,
  clientFlags,
  clientFor,
  NONDISTRIBUTABLE_FLAG,
  positiveInt,
  REGISTRY_FLAGS,
  TransferProgress,
} from "./registry_common.ts";

function report(result: PushResult, f: Parsed, io: CliIO, extra: Record<string, unknown> = {}) {
  if (f.values.json) {
    io.out(json({
      ...extra,
      ref: result.ref,
      digest: result.digest,
      blobs: result.blobs,
      ...(result.warnings.length ? { warnings: result.warnings } : {}),
    }));
    return;
  }
  io.out(`${result.ref} ${result.digest}\n`);
  if (!f.values.quiet) {
    io.err(
      `blobs: ${result.blobs.uploaded} uploaded, ${result.blobs.mounted} mounted, ${result.blobs.present} present (${
        formatBytes(result.blobs.bytes)
      } sent)\n`,
    );
  }
}

/** The push command. */
export const pushCommand: Command = {
  path: ["push"],
  summary: "push an image of the store to a registry",
  args: "<remote-ref> [<local-name>]",
  details: "<local-name> defaults to <remote-ref>. Blobs the registry has are not sent again.",
  flags: [
    {
      name: "platform",
      kind: "multiple",
      value: "P",
      help: "push only this platform of an index (one: its manifest alone; several: a new index)",
    },
    {
      name: "max-concurrent-uploads",
      kind: "string",
      value: "N",
      help: "blobs uploaded at once (default 3)",
    },
    NONDISTRIBUTABLE_FLAG,
    ...REGISTRY_FLAGS,
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: [
    "lading push registry.example.com/team/app:1 example.com/app:1",
    "lading push --plain-http 127.0.0.1:5000/busybox:1 busybox",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, pushCommand);
    if (f.positionals.length < 1 || f.positionals.length > 2) {
      throw new UsageError("push takes a remote reference and optionally a local name");
    }
    const concurrency = positiveInt(f.values["max-concurrent-uploads"], "max-concurrent-uploads");
    const [remote, local = remote] = f.positionals;
    const ref = parseReference(remote);
    const quiet = !!f.values.quiet || !!f.values.json;
    const progress = new TransferProgress(io, "pushing", { quiet });
    const warn = (m: string) => {
      if (!f.values.json) progress.print(`warning: ${m}\n`);
    };
    const client = await clientFor(ref.domain, clientFlags(f.values), io, { onWarning: warn });
    const store = await openStoreForReading(f.values, io);
    try {
      const result = await pushImage(store, local, {
        to: remote,
        client,
        platforms: platformsOf(f.values),
        concurrency,
        nonDistributable: !!f.values["allow-nondistributable-artifacts"],
        onProgress: (p) => progress.update(p),
        onWarning: warn,
      });
      progress.end();
      report(result, f, io);
      return 0;
    } catch (e) {
      if (!(e instanceof MissingContentError)) throw e;
      // The contract: a headline, then one indented line per missing blob.
      progress.end();
      io.err(
        `lading: Cannot push ${local} to ${remote}: ${e.missing.length} blob${
          e.missing.length === 1 ? " is" : "s are"
        } missing from the store (nothing was sent):\n${
          e.missing.map((m) => `  ${m.digest}${m.mediaType ? ` (${m.mediaType})` : ""}\n`).join("")
        }`,
      );
      return 1;
    } finally {
      progress.end();
      await store.close();
    }
  },
};

/** `--src-user`, `--src-tlscacert`, `--src-plain-http` (and `dst-`), like skopeo's `--src-creds`. */
function sideFlags(side: "src" | "dst", what: string): FlagDef[] {
  return [
    {
      name: `${side}-user`,
      kind: "string",
      value: "USER[:PASS]",
      help: `credentials for the ${what} registry only (default: --user, then saved ones)`,
    },
    {
      name: `${side}-tlscacert`,
      kind: "string",
      value: "FILE",
      help: `trust this CA certificate for the ${what} registry only`,
    },
    { name: `${side}-plain-http`, help: `talk HTTP to the ${what} registry only` },
  ];
}

/** The client flags of one end of a copy: its own flags, else the common ones. */
function sideClientFlags(
  values: Parsed["values"],
  side: "src" | "dst",
  common: ClientFlags,
): ClientFlags {
  const user = values[`${side}-user`] as string | undefined;
  const ca = values[`${side}-tlscacert`] as string | undefined;
  const plain = values[`${side}-plain-http`] as boolean | undefined;
  return {
    plainHttp: plain || (ca ? false : common.plainHttp),
    tlscacert: ca ?? (plain ? undefined : common.tlscacert),
    user: user ?? common.user,
  };
}

/** The copy command. */
export const copyCommand: Command = {
  path: ["copy"],
  summary: "copy an image from one registry repository to another (mounts within a registry)",
  args: "<src-ref> <dst-ref>",
  details:
    "Registry to registry, without the store; blobs are mounted when both are in one registry.",
  flags: [
    {
      name: "max-concurrent-uploads",
      kind: "string",
      value: "N",
      help: "blobs copied at once (default 4)",
    },
    NONDISTRIBUTABLE_FLAG,
    ...REGISTRY_FLAGS,
    ...sideFlags("src", "source"),
    ...sideFlags("dst", "target"),
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: [
    "lading copy registry.example.com/a:1 registry.example.com/b:1",
    "lading copy --src-user alice:pw --dst-user bob:pw --dst-tlscacert ca.pem a.example/x:1 b.example/x:1",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, copyCommand);
    if (f.positionals.length !== 2) {
      throw new UsageError("copy takes a source and a target reference");
    }
    const concurrency = positiveInt(f.values["max-concurrent-uploads"], "max-concurrent-uploads");
    const [src, dst] = f.positionals;
    const s = parseReference(src);
    const t = parseReference(dst);
    const quiet = !!f.values.quiet || !!f.values.json;
    const progress = new TransferProgress(io, "copying", { quiet });
    const warn = (m: string) => {
      if (!f.values.json) progress.print(`warning: ${m}\n`);
    };
    const flags = clientFlags(f.values);
    const srcFlags = sideClientFlags(f.values, "src", flags);
    const dstFlags = sideClientFlags(f.values, "dst", flags);
    const from = await clientFor(s.domain, srcFlags, io, { onWarning: warn });
    // One client when both ends are one registry with the same settings (one token can
    // then cover both repositories and blobs are mounted); two otherwise.
    const same = s.domain === t.domain && JSON.stringify(srcFlags) === JSON.stringify(dstFlags);
    const to = same ? from : await clientFor(t.domain, dstFlags, io, { onWarning: warn });
    try {
      const result = await copyImage(src, dst, {
        sourceClient: from,
        targetClient: to,
        concurrency,
        mount: same,
        nonDistributable: !!f.values["allow-nondistributable-artifacts"],
        onProgress: (p) => progress.update(p),
        onWarning: warn,
      });
      progress.end();
      report(result, f, io, { source: src });
      return 0;
    } finally {
      progress.end();
    }
  },
};
