/**
 * Shared settings of the property-based fuzz tests: reproducible seeds and run counts.
 * `FUZZ_SEED=<n>` replays a failure (fast-check prints the seed and the path of a failing
 * case); `FUZZ_RUNS=<n>` sets how many cases each property tries (CI: a small default;
 * `deno task fuzz` for long runs).
 * @module
 */
import fc from "fast-check";
import { LadingError } from "../../src/errors.ts";

/** The seed of this run: FUZZ_SEED, or a fixed default so CI runs are reproducible. */
export const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261201);
/** Cases per property. */
export const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 150);

/** fast-check parameters for one property (a fraction of RUNS for the costly ones). */
export function params(fraction = 1): fc.Parameters<unknown> {
  return { seed: SEED, numRuns: Math.max(10, Math.round(RUNS * fraction)), endOnFailure: true };
}

/** The invariant: an input is accepted, or refused with ONE typed lading error. */
export async function acceptedOrTyped<T>(run: () => Promise<T> | T): Promise<T | LadingError> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof LadingError) return e;
    throw new Error(`not a typed error: ${e instanceof Error ? `${e.name}: ${e.message}` : e}`, {
      cause: e,
    });
  }
}

/** A mutation of valid bytes: how hostile inputs are made from good ones. */
export type Mutation =
  | { kind: "truncate"; at: number }
  | { kind: "flip"; at: number; mask: number }
  | { kind: "duplicate"; from: number; length: number }
  | { kind: "swapBlocks"; a: number; b: number }
  | { kind: "oversize"; at: number; digits: string };

/** Arbitrary mutations (positions are fractions of the length, applied by {@link mutate}). */
export const mutationArb: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({
      kind: fc.constant("flip" as const),
      at: fc.nat(),
      mask: fc.integer({ min: 1, max: 255 }),
    }),
    fc.record({
      kind: fc.constant("duplicate" as const),
      from: fc.nat(),
      length: fc.integer({ min: 1, max: 2048 }),
    }),
    fc.record({ kind: fc.constant("swapBlocks" as const), a: fc.nat(), b: fc.nat() }),
    fc.record({
      kind: fc.constant("oversize" as const),
      at: fc.nat(),
      digits: fc.constantFrom(
        "77777777777",
        "99999999999",
        "\x80\x00\x00\x00\x7f\xff\xff\xff",
        "0.5",
        "-1",
      ),
    }),
  ),
  { minLength: 1, maxLength: 4 },
);

/** Applies mutations to a copy of `bytes`. `oversize` writes into a tar size field. */
export function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = bytes.slice();
  for (const m of mutations) {
    const n = b.byteLength;
    if (n === 0) break;
    if (m.kind === "truncate") b = b.slice(0, m.at % n);
    else if (m.kind === "flip") b[m.at % n] ^= m.mask;
    else if (m.kind === "duplicate") {
      const from = m.from % n;
      const piece = b.slice(from, from + m.length);
      const out = new Uint8Array(n + piece.byteLength);
      out.set(b.subarray(0, from + piece.byteLength));
      out.set(piece, from + piece.byteLength);
      out.set(b.subarray(from + piece.byteLength), from + 2 * piece.byteLength);
      b = out;
    } else if (m.kind === "swapBlocks") {
      const blocks = Math.floor(n / 512);
      if (blocks < 2) continue;
      const x = (m.a % blocks) * 512;
      const y = (m.b % blocks) * 512;
      const t = b.slice(x, x + 512);
      b.copyWithin(x, y, y + 512);
      b.set(t, y);
    } else {
      const blocks = Math.floor(n / 512);
      if (blocks < 1) continue;
      const at = (m.at % blocks) * 512 + 124; // a header's size field
      for (let i = 0; i < 12 && i < m.digits.length; i++) b[at + i] = m.digits.charCodeAt(i);
    }
  }
  return b;
}
