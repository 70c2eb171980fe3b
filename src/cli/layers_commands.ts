/**
 * The layer commands, gathered for `commands.ts`: `layers`, `ls`, `cat`, `diff`, `waste`,
 * `unpack` (one file each).
 * @module
 */
import type { Command } from "./common.ts";
import { layersCommand } from "./layers.ts";
import { lsCommand } from "./ls.ts";
import { catCommand } from "./cat.ts";
import { diffCommand } from "./diff.ts";
import { wasteCommand } from "./waste.ts";
import { unpackCommand } from "./unpack.ts";

/** The layer commands, in help order. */
export const layerCommands: readonly Command[] = [
  layersCommand,
  lsCommand,
  catCommand,
  diffCommand,
  wasteCommand,
  unpackCommand,
];
