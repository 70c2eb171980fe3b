/**
 * Store management: `lading images rm`, `lading images tag` (names only; content stays
 * until gc) and `lading content rm` (refuses a blob a name still reaches unless --force).
 * @module
 */
import type { Digest } from "../digest.ts";
import { AlreadyExistsError, LadingError, NotFoundError } from "../errors.ts";
import { reachableDigests } from "../gc.ts";
import { findImage, matchImages } from "../image.ts";
import { normalizeReference } from "../reference.ts";
import type { ImageRecord } from "../store/types.ts";
import {
  type CliIO,
  type Command,
  count,
  json,
  JSON_FLAG,
  parseCommand,
  QUIET_FLAG,
  UsageError,
} from "./common.ts";
import { findBlob, openStoreForReading } from "./store_open.ts";

/** `images rm`. */
export const imagesRm: Command = {
  path: ["images", "rm"],
  summary: "remove image names (content stays until 'lading gc')",
  args: "<name|digest>...",
  details: "A name removes that name. A digest (or a unique hex prefix of 12+ digits) that\n" +
    "several names point at is refused unless --all-names is given, like 'docker rmi'.",
  flags: [
    { name: "all-names", help: "with a digest: remove every name that points at it" },
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: [
    "lading images rm busybox",
    "lading images rm --all-names sha256:4c1d0f5a2b3e...",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, imagesRm);
    if (f.positionals.length === 0) throw new UsageError("images rm needs at least one name");
    const store = await openStoreForReading(f.values, io);
    try {
      const doomed: string[] = [];
      for (const n of f.positionals) {
        const m = await matchImages(store, n);
        if (!m) {
          throw new NotFoundError(`image ${JSON.stringify(n)} not found in the store`);
        }
        if (m.records.length > 1 && !f.values["all-names"]) {
          throw new LadingError(
            `Cannot remove ${n}: ${m.records.length} names point at ${m.digest}: ${
              m.records.map((r) => r.name).join(", ")
            }; remove them by name, or use --all-names`,
          );
        }
        for (const r of m.records) if (!doomed.includes(r.name)) doomed.push(r.name);
      }
      await store.deleteImages(doomed);
      if (f.values.json) io.out(json({ removed: doomed }));
      else {
        for (const n of doomed) io.out(`${n}\n`);
        if (!f.values.quiet) {
          io.err(
            `removed ${
              count(doomed.length, "name")
            }; run 'lading gc' to free content no name reaches\n`,
          );
        }
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};

/** `images tag`. */
export const imagesTag: Command = {
  path: ["images", "tag"],
  summary: "give an image more names",
  args: "<source> <new name>...",
  details: "<source> is a name, short name or digest of a stored index or manifest. New names\n" +
    "are normalized (my/app is stored as docker.io/my/app:latest).",
  flags: [
    { name: "force", help: "move a name that already points at another image" },
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: ["lading images tag busybox example.com/mirror/busybox:1"],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, imagesTag);
    if (f.positionals.length < 2) {
      throw new UsageError("images tag needs a source and at least one new name");
    }
    const [source, ...targets] = f.positionals;
    const store = await openStoreForReading(f.values, io);
    try {
      const src = await findImage(store, source);
      const existing = new Map((await store.listImages()).map((r) => [r.name, r]));
      const records: ImageRecord[] = [];
      for (const t of targets) {
        const name = normalizeReference(t);
        const old = existing.get(name);
        if (old && old.target.digest !== src.target.digest && !f.values.force) {
          throw new AlreadyExistsError(
            `Cannot tag ${name}: it already points at ${old.target.digest}; use --force to move it`,
          );
        }
        if (!records.some((r) => r.name === name)) records.push({ name, target: src.target });
      }
      await store.putImages(records);
      if (f.values.json) {
        io.out(
          json({ source: src.name, digest: src.target.digest, tagged: records.map((r) => r.name) }),
        );
      } else for (const r of records) io.out(`${r.name}\n`);
      return 0;
    } finally {
      await store.close();
    }
  },
};

/** `content rm`. */
export const contentRm: Command = {
  path: ["content", "rm"],
  summary: "remove blobs (refused while a name reaches them, unless --force)",
  args: "<digest>...",
  flags: [
    {
      name: "force",
      help:
        "remove even blobs that names reach (those images become incomplete) or that an import in flight uses",
    },
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: ["lading content rm sha256:4c1d0f5a2b3e..."],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, contentRm);
    if (f.positionals.length === 0) throw new UsageError("content rm needs at least one digest");
    const store = await openStoreForReading(f.values, io);
    try {
      const digests: Digest[] = [];
      for (const d of f.positionals) {
        const full = await findBlob(store, d);
        if (!digests.includes(full)) digests.push(full);
      }
      const force = !!f.values.force;
      const result = await store.exclusive(async () => {
        for (const d of digests) {
          if (!(await store.has(d))) throw new NotFoundError(`blob ${d} is not in the store`);
        }
        const reach = await reachableDigests(store);
        const leased = await store.leasedDigests();
        const refusals: string[] = [];
        const affected = new Set<string>();
        for (const d of digests) {
          const names = reach.get(d);
          if (names) {
            for (const n of names) affected.add(n);
            refusals.push(`${d} is reached by ${names.join(", ")}`);
          } else if (leased.has(d)) refusals.push(`${d} is in use by an import in progress`);
        }
        if (refusals.length && !force) {
          throw new LadingError(
            `Cannot remove ${refusals.length === 1 ? "a blob" : "blobs"} still in use:\n  ${
              refusals.join("\n  ")
            }\nRemove the images first ('lading images rm'), or use --force`,
          );
        }
        for (const d of digests) await store.delete(d);
        return { removed: digests, incomplete: [...affected].sort() };
      });
      if (f.values.json) io.out(json(result));
      else {
        for (const d of result.removed) io.out(`${d}\n`);
        for (const n of result.incomplete) io.err(`warning: ${n} is now incomplete\n`);
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};
