// This module is browser compatible.
/**
 * A cancellable timer on `AbortSignal.timeout`, for code on every command's start-up path
 * (a request's time limit, the store lock's wait notice). Deno's global `setTimeout` is
 * Node's (it returns a `Timeout` object): its first call loads Node's compatibility layer,
 * 15–35 ms measured with Deno 2.9, which `AbortSignal.timeout` (the web timer) does not.
 * While the timer is pending it keeps the process alive; cancelled, it does not.
 *
 * @example
 * ```ts
 * import { startTimer } from "./timer.ts";
 * const fired = await new Promise<boolean>((resolve) => {
 *   const cancel = startTimer(10_000, () => resolve(true));
 *   cancel();
 *   startTimer(1, () => resolve(false));
 * });
 * console.log(fired); // false
 * ```
 * @module
 */

/**
 * Calls `fire` once after `ms` milliseconds unless the returned function is called first.
 */
export function startTimer(ms: number, fire: () => void): () => void {
  if (typeof AbortSignal.timeout !== "function") {
    const id = setTimeout(fire, ms);
    return () => clearTimeout(id);
  }
  const signal = AbortSignal.timeout(Math.max(0, ms));
  const listener = () => fire();
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}

/** Resolves after `ms` milliseconds (with {@link startTimer}). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => startTimer(ms, resolve));
}
