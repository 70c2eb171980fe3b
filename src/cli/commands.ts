/**
 * The list of CLI commands. Each lives in its own file and is loaded only when it runs
 * (or for `help`), so starting a command costs only its own modules.
 * @module
 */
import type { Command } from "./common.ts";

/** A command's words and where to load it from. */
export interface CommandEntry {
  /** The words that select it. */
  readonly path: readonly string[];
  /** Loads the command module. */
  load(): Promise<Command>;
}

/** Every command, in help order. */
export const commands: readonly CommandEntry[] = [
  { path: ["import"], load: () => import("./import.ts").then((m) => m.importCommand) },
  { path: ["images", "ls"], load: () => import("./images.ts").then((m) => m.imagesLs) },
  { path: ["images", "inspect"], load: () => import("./images.ts").then((m) => m.imagesInspect) },
  { path: ["images", "check"], load: () => import("./check.ts").then((m) => m.imagesCheck) },
  { path: ["images", "tag"], load: () => import("./manage.ts").then((m) => m.imagesTag) },
  { path: ["images", "rm"], load: () => import("./manage.ts").then((m) => m.imagesRm) },
  { path: ["export"], load: () => import("./export.ts").then((m) => m.exportCommand) },
  { path: ["layers"], load: () => import("./layers.ts").then((m) => m.layersCommand) },
  { path: ["ls"], load: () => import("./ls.ts").then((m) => m.lsCommand) },
  { path: ["cat"], load: () => import("./cat.ts").then((m) => m.catCommand) },
  { path: ["diff"], load: () => import("./diff.ts").then((m) => m.diffCommand) },
  { path: ["waste"], load: () => import("./waste.ts").then((m) => m.wasteCommand) },
  { path: ["unpack"], load: () => import("./unpack.ts").then((m) => m.unpackCommand) },
  { path: ["flatten"], load: () => import("./flatten.ts").then((m) => m.flattenCommand) },
  { path: ["append"], load: () => import("./build.ts").then((m) => m.appendCommand) },
  { path: ["mutate"], load: () => import("./build.ts").then((m) => m.mutateCommand) },
  { path: ["content", "ls"], load: () => import("./content.ts").then((m) => m.contentLs) },
  { path: ["content", "get"], load: () => import("./content.ts").then((m) => m.contentGet) },
  { path: ["content", "verify"], load: () => import("./check.ts").then((m) => m.contentVerify) },
  { path: ["content", "rm"], load: () => import("./manage.ts").then((m) => m.contentRm) },
  { path: ["manifest"], load: () => import("./get.ts").then((m) => m.manifestCommand) },
  { path: ["config"], load: () => import("./get.ts").then((m) => m.configCommand) },
  { path: ["digest"], load: () => import("./get.ts").then((m) => m.digestCommand) },
  { path: ["gc"], load: () => import("./gc.ts").then((m) => m.gcCommand) },
  { path: ["pull"], load: () => import("./pull.ts").then((m) => m.pullCommand) },
  { path: ["push"], load: () => import("./push.ts").then((m) => m.pushCommand) },
  { path: ["copy"], load: () => import("./push.ts").then((m) => m.copyCommand) },
  { path: ["login"], load: () => import("./login.ts").then((m) => m.loginCommand) },
  { path: ["logout"], load: () => import("./login.ts").then((m) => m.logoutCommand) },
  { path: ["remote", "tags"], load: () => import("./remote.ts").then((m) => m.remoteTags) },
  { path: ["remote", "digest"], load: () => import("./remote.ts").then((m) => m.remoteDigest) },
  {
    path: ["remote", "manifest"],
    load: () => import("./remote.ts").then((m) => m.remoteManifest),
  },
  { path: ["remote", "config"], load: () => import("./remote.ts").then((m) => m.remoteConfig) },
  {
    path: ["remote", "referrers"],
    load: () => import("./remote.ts").then((m) => m.remoteReferrers),
  },
  {
    path: ["completions"],
    load: () => import("./completions.ts").then((m) => m.completionsCommand),
  },
];
