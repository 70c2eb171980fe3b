/**
 * The list of CLI commands. Each lives in its own file; add new ones here.
 * @module
 */
import type { Command } from "./common.ts";
import { importCommand } from "./import.ts";
import { imagesInspect, imagesLs } from "./images.ts";
import { contentGet, contentLs } from "./content.ts";
import { exportCommand } from "./export.ts";
import { contentRm, imagesRm, imagesTag } from "./manage.ts";
import { gcCommand } from "./gc.ts";
import { contentVerify, imagesCheck } from "./check.ts";
import { layerCommands } from "./layers_commands.ts";

/** Every command, in help order. */
export const commands: Command[] = [
  importCommand,
  imagesLs,
  imagesInspect,
  imagesCheck,
  imagesTag,
  imagesRm,
  exportCommand,
  contentLs,
  contentGet,
  contentVerify,
  contentRm,
  gcCommand,
  ...layerCommands,
];
