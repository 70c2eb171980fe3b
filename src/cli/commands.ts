/**
 * The list of CLI commands. Each lives in its own file; add new ones here.
 * @module
 */
import type { Command } from "./common.ts";

/** Every command, in help order. */
export const commands: Command[] = [];
