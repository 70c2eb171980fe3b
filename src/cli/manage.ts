/**
 * Store management: `lading images rm`, `lading images tag` (names only; content stays
 * until gc) and `lading content rm` (refuses a blob a name still reaches unless --force).
 * @module
 */
import { type Digest, parseDigest } from "../digest.ts";
import { AlreadyExistsError, LadingError, NotFoundError } from "../errors.ts";
import { reachableDigests } from "../gc.ts";
import { findImage } from "../image.ts";
import { normalizeReference } from "../reference.ts";
import type { ImageRecord, Store } from "../store/types.ts";
import { type CliIO, type Command, json, openStore, parseFlags, UsageError } from "./common.ts";

/** The stored record a user-given name means (exact, or familiar); never a bare digest. */
async function namedRecord(store: Store, name: string): Promise<ImageRecord> {
  const record = await findImage(store, name);
  const names = new Set((await store.listImages()).map((r) => r.name));
  if (!names.has(record.name)) {
    throw new NotFoundError(`image ${JSON.stringify(name)} not found in the store`);
  }
  return record;
}

/** `images rm`. */
export const imagesRm: Command = {
  path: ["images", "rm"],
  summary: "remove image names (content stays until 'lading gc')",
  usage: "lading images rm [--json] [--store DIR] <name>...",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, { boolean: ["json"] });
    if (f.positionals.length === 0) throw new UsageError("images rm needs at least one name");
    const store = await openStore(f.values, io);
    try {
      const doomed: string[] = [];
      for (const n of f.positionals) {
        const r = await namedRecord(store, n);
        if (!doomed.includes(r.name)) doomed.push(r.name);
      }
      await store.deleteImages(doomed);
      if (f.values.json) io.out(json({ removed: doomed }));
      else {
        for (const n of doomed) io.out(`${n}\n`);
        io.err(
          `removed ${doomed.length} name${
            doomed.length === 1 ? "" : "s"
          }; run 'lading gc' to free content no name reaches\n`,
        );
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
  usage: "lading images tag [--force] [--json] [--store DIR] <source> <new name>...\n\n" +
    "  <source>   a name, familiar name or digest of a stored index/manifest\n" +
    "  --force    move a name that already points at another image",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, { boolean: ["json", "force"] });
    if (f.positionals.length < 2) {
      throw new UsageError("images tag needs a source and at least one new name");
    }
    const [source, ...targets] = f.positionals;
    const store = await openStore(f.values, io);
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
  usage: "lading content rm [--force] [--json] [--store DIR] <digest>...\n\n" +
    "  --force   remove even blobs that names reach (those images become incomplete)\n" +
    "            or that an import in flight is using",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, { boolean: ["json", "force"] });
    if (f.positionals.length === 0) throw new UsageError("content rm needs at least one digest");
    const digests = [...new Set(f.positionals.map((d) => parseDigest(d).digest as Digest))];
    const store = await openStore(f.values, io);
    try {
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
