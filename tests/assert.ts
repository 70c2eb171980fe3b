// This module is browser compatible.
/**
 * A tiny assertion module for the tests (JSR's `@std/assert` cannot be installed here).
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "./assert.ts";
 * assertEquals({ a: [1, new Uint8Array([2])] }, { a: [1, new Uint8Array([2])] });
 * assertThrows(() => JSON.parse("{"), SyntaxError);
 * ```
 * @module
 */

/** Thrown when an assertion fails. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error = Error> = abstract new (...args: any[]) => E;

function format(value: unknown): string {
  try {
    if (value instanceof Uint8Array) {
      const head = [...value.subarray(0, 32)].join(",");
      return `Uint8Array(${value.byteLength}) [${head}${value.byteLength > 32 ? ",…" : ""}]`;
    }
    if (value instanceof Map) return `Map(${format([...value])})`;
    if (value instanceof Set) return `Set(${format([...value])})`;
    if (typeof value === "bigint") return `${value}n`;
    if (value === undefined) return "undefined";
    const s = JSON.stringify(
      value,
      (_k, v) =>
        v instanceof Uint8Array
          ? format(v)
          : v instanceof Map || v instanceof Set
          ? format(v)
          : typeof v === "bigint"
          ? `${v}n`
          : v,
      2,
    );
    return s ?? String(value);
  } catch {
    return String(value);
  }
}

/** Deep structural equality: primitives, arrays, plain objects, typed arrays, Map, Set, Date, RegExp. */
export function equal(a: unknown, b: unknown, seen = new Map<unknown, unknown>()): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    if (x.byteLength !== y.byteLength) return false;
    for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (a instanceof ArrayBuffer && b instanceof ArrayBuffer) {
    return equal(new Uint8Array(a), new Uint8Array(b), seen);
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof RegExp && b instanceof RegExp) return String(a) === String(b);
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false;
    outer: for (const x of a) {
      if (b.has(x)) continue;
      for (const y of b) if (equal(x, y, seen)) continue outer;
      return false;
    }
    return true;
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    outer: for (const [k, v] of a) {
      if (b.has(k)) {
        if (!equal(v, b.get(k), seen)) return false;
        continue;
      }
      for (const [k2, v2] of b) if (equal(k, k2, seen) && equal(v, v2, seen)) continue outer;
      return false;
    }
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i], seen)) return false;
    return true;
  }
  if (a instanceof Error && b instanceof Error) {
    if (a.name !== b.name || a.message !== b.message) return false;
  }
  const ka = Object.keys(a as object).filter((k) =>
    (a as Record<string, unknown>)[k] !== undefined
  );
  const kb = Object.keys(b as object).filter((k) =>
    (b as Record<string, unknown>)[k] !== undefined
  );
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], seen)) {
      return false;
    }
  }
  return true;
}

/** Fails unless `condition` is truthy. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Fails unless `actual` deeply equals `expected`. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (!equal(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}values are not equal\n  actual:   ${
        format(actual)
      }\n  expected: ${format(expected)}`,
    );
  }
}

/** Fails when `actual` deeply equals `expected`. */
export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  if (equal(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}expected values to differ, both are ${format(actual)}`,
    );
  }
}

/** Fails unless `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  if (!pattern.test(text)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}${JSON.stringify(text)} does not match ${pattern}`,
    );
  }
}

/** Fails unless `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  if (!text.includes(part)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}${JSON.stringify(text)} does not include ${
        JSON.stringify(part)
      }`,
    );
  }
}

function checkError<E extends Error>(
  error: unknown,
  errorClass?: ErrorClass<E>,
  msgIncludes?: string,
): E {
  if (errorClass && !(error instanceof errorClass)) {
    const got = error instanceof Error ? `${error.name}: ${error.message}` : format(error);
    throw new AssertionError(`expected ${errorClass.name} to be thrown, got ${got}`);
  }
  if (msgIncludes !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    if (!message.includes(msgIncludes)) {
      throw new AssertionError(
        `expected the error message to include ${JSON.stringify(msgIncludes)}, got ${
          JSON.stringify(message)
        }`,
      );
    }
  }
  return error as E;
}

/** Fails unless `fn` throws (an instance of `errorClass`, with `msgIncludes` in its message); returns the error. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClass?: ErrorClass<E>,
  msgIncludes?: string,
): E {
  try {
    fn();
  } catch (e) {
    return checkError(e, errorClass, msgIncludes);
  }
  throw new AssertionError(
    `expected ${errorClass ? errorClass.name : "an error"} to be thrown, nothing was thrown`,
  );
}

/** Fails unless `fn` rejects (with an instance of `errorClass`, with `msgIncludes` in its message); returns the error. */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  errorClass?: ErrorClass<E>,
  msgIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    return checkError(e, errorClass, msgIncludes);
  }
  throw new AssertionError(
    `expected ${errorClass ? errorClass.name : "an error"} to be rejected, the promise resolved`,
  );
}
