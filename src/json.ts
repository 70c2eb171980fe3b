// This module is browser compatible.
/**
 * Untrusted JSON, read strictly: a size cap, valid UTF-8 without BOM, a nesting cap,
 * integers where Go reads integers, and no duplicate object keys at any depth; plus the
 * message helpers `schema.ts` builds its errors with.
 *
 * @example
 * ```ts
 * import { parseJson } from "@lading/oci/schema";
 * console.log(parseJson(new TextEncoder().encode("[1]"))); // [ 1 ]
 * ```
 * @module
 */
import { InvalidInputError, LimitExceededError } from "./errors.ts";

/** The default cap for a JSON document: 4 MiB. */
export const DEFAULT_JSON_LIMIT = 4 * 1024 * 1024;

// Messages and paths

/** Shows at most 80 characters of an untrusted string, quoted. */
export function show(value: unknown): string {
  const s = typeof value === "string" ? value : String(value);
  return JSON.stringify(s.length > 80 ? s.slice(0, 77) + "..." : s);
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Formats a JSON path: `layers[1].digest`, `annotations["org.example.x"]`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${show(segment)}]`;
  }
  return out;
}

/** Throws the {@link InvalidInputError} every parse function throws: what, where, why. */
export function fail(what: string, path: string, message: string): never {
  throw new InvalidInputError(`Cannot parse ${what}: ${path ? `${path}: ` : ""}${message}`);
}

// JSON with a cap, strict UTF-8 and duplicate-key detection

/**
 * Parses JSON bytes strictly: at most `maxJsonBytes`, valid UTF-8 (no BOM), valid JSON and no
 * duplicate object keys at any depth (JSON.parse would silently keep the last one, which
 * lets two readers see different documents).
 *
 * @throws {LimitExceededError} when the bytes exceed `maxJsonBytes`.
 * @throws {InvalidInputError} for invalid UTF-8, invalid JSON or a duplicate key.
 * @example
 * ```ts
 * import { parseJson } from "@lading/oci/schema";
 * const value = parseJson(new TextEncoder().encode('{"a":[1,{"b":2}]}'));
 * console.log(value); // { a: [ 1, { b: 2 } ] }
 * try {
 *   parseJson(new TextEncoder().encode('{"a":1,"a":2}'), { what: "config" });
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot parse config: duplicate key "a" at a
 * }
 * ```
 */
export function parseJson(
  bytes: Uint8Array,
  options: { readonly maxJsonBytes?: number; readonly what?: string } = {},
): unknown {
  const what = options.what ?? "JSON document";
  const maxBytes = options.maxJsonBytes ?? DEFAULT_JSON_LIMIT;
  if (bytes.byteLength > maxBytes) {
    throw new LimitExceededError(
      `Cannot parse ${what}: ${bytes.byteLength} bytes exceed the limit of ${maxBytes} bytes`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new InvalidInputError(`Cannot parse ${what}: the bytes are not valid UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InvalidInputError(`Cannot parse ${what}: invalid JSON: ${(e as Error).message}`);
  }
  checkDuplicateKeys(text, what);
  return value;
}

/**
 * Deepest nesting of arrays and objects a document may have. Real manifests, indexes and
 * configs nest fewer than 10 levels; a cap keeps every later recursive walk (printing,
 * schema checks) far from the call-stack limit.
 */
export const MAX_JSON_DEPTH = 512;

/**
 * Keys whose number values must be written as integers: Go's `encoding/json` refuses
 * `347.0` or `3.47e2` for an `int64` field (descriptor sizes, schemaVersion), and so does
 * lading, so that the two never read a different document.
 */
const INTEGER_KEYS = new Set(["size", "schemaVersion"]);
const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]*)$/;

interface Frame {
  readonly object: boolean;
  readonly keys: Set<string> | undefined;
  key: string | number;
  expectKey: boolean;
}

/**
 * One linear pass over text that is known to be valid JSON: tracks the container stack
 * and the keys of each open object.
 */
function checkDuplicateKeys(text: string, what: string): void {
  const stack: Frame[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= MAX_JSON_DEPTH) {
        throw new InvalidInputError(
          `Cannot parse ${what}: nested deeper than ${MAX_JSON_DEPTH} levels at ${
            formatPath(stack.slice(0, 8).map((frame) => frame.key))
          }…`,
        );
      }
      stack.push(
        c === 0x7b
          ? { object: true, keys: new Set(), key: "", expectKey: true }
          : { object: false, keys: undefined, key: 0, expectKey: false },
      );
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      i++;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top.object) top.expectKey = true;
      else top.key = (top.key as number) + 1;
      i++;
    } else if (c === 0x3a /* : */) {
      stack[stack.length - 1].expectKey = false;
      i++;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      for (;;) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j += 2;
        } else if (d === 0x22) break;
        else j++;
      }
      const top = stack[stack.length - 1];
      if (top !== undefined && top.object && top.expectKey) {
        const key = escaped ? JSON.parse(text.slice(i, j + 1)) as string : text.slice(i + 1, j);
        top.key = key;
        if (top.keys!.has(key)) {
          const path = formatPath(stack.map((frame) => frame.key));
          throw new InvalidInputError(
            `Cannot parse ${what}: duplicate key ${show(key)} at ${path}`,
          );
        }
        top.keys!.add(key);
      }
      i = j + 1;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < n && /[0-9.eE+-]/.test(text[j])) j++;
      const top = stack[stack.length - 1];
      if (top?.object && INTEGER_KEYS.has(top.key as string)) {
        const number = text.slice(i, j);
        if (!INTEGER_TEXT.test(number)) {
          const path = formatPath(stack.map((frame) => frame.key));
          throw new InvalidInputError(
            `Cannot parse ${what}: ${path} must be an integer, got ${number}`,
          );
        }
      }
      i = j;
    } else {
      i++;
    }
  }
}
