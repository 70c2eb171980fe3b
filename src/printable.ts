// This module is browser compatible.
/**
 * Text from untrusted input made safe to print on one line: control characters (C0, DEL,
 * C1 — terminal escapes, newlines, carriage returns) and lone surrogates become visible
 * `\xNN` / `\uNNNN` escapes, so a name or message can neither forge a row of output nor
 * recolour the terminal.
 *
 * @example
 * ```ts
 * import { printable } from "./printable.ts";
 * console.log(printable("ok\x1b[31mred\nrow")); // ok\x1b[31mred\x0arow
 * ```
 * @module
 */

const UNSAFE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with every control character replaced by a visible escape. */
export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** True when `text` has no character {@link printable} would escape. */
export function isPrintable(text: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(text);
  UNSAFE.lastIndex = 0;
  return !found;
}
