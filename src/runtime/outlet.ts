// This module is browser compatible.
/**
 * The readable side of a decoder that produces output only as fast as it is read: a
 * decompressor can turn 4 bytes into 128 KiB (zstd) or 1 KiB into 1 MiB (deflate), so a
 * decoder that hands out everything one input chunk expands to holds `chunk × ratio`
 * bytes. Decoders push into an {@link Outlet} and wait for {@link Outlet.room} before
 * producing more; memory stays at the high-water mark whatever the ratio.
 *
 * @example
 * ```ts
 * import { Outlet } from "./outlet.ts";
 * const out = new Outlet();
 * out.push(new Uint8Array([1, 2, 3]));
 * out.close();
 * console.log((await new Response(out.readable).arrayBuffer()).byteLength); // 3
 * ```
 * @module
 */

/** Bytes an outlet queues before {@link Outlet.room} waits for the reader. */
export const OUTLET_HIGH_WATER_MARK = 1024 * 1024;

/** Options of an {@link Outlet}. */
export interface OutletOptions {
  /** Bytes queued before the producer must wait (default {@link OUTLET_HIGH_WATER_MARK}). */
  highWaterMark?: number;
  /** Called when the reader wants more (after it read from a full queue). */
  onPull?: () => void;
  /** Called when the reader cancels: stop producing and release resources. */
  onCancel?: (reason: unknown) => void;
}

/** A byte queue with backpressure, read as a `ReadableStream`. */
export class Outlet {
  /** What the decoder produced, in order. */
  readonly readable: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #waiters: (() => void)[] = [];
  #finished = false;
  #options: OutletOptions;

  constructor(options: OutletOptions = {}) {
    this.#options = options;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.#controller = c;
        },
        pull: () => {
          this.#wake();
          this.#options.onPull?.();
        },
        cancel: (reason) => {
          this.#finished = true;
          this.#wake();
          this.#options.onCancel?.(reason);
        },
      },
      new ByteLengthQueuingStrategy({
        highWaterMark: options.highWaterMark ?? OUTLET_HIGH_WATER_MARK,
      }),
    );
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** True when the reader has enough queued: stop producing until {@link room}. */
  get full(): boolean {
    return !this.#finished && (this.#controller.desiredSize ?? 0) <= 0;
  }

  /** True once closed, errored or cancelled: further output is dropped. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Resolves when the reader wants more (or the outlet finished). */
  room(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Queues output (dropped after the outlet finished). */
  push(chunk: Uint8Array): void {
    if (this.#finished || chunk.byteLength === 0) return;
    this.#controller.enqueue(chunk);
  }

  /** Ends the output. */
  close(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#controller.close();
    this.#wake();
  }

  /** Ends the output with an error the reader sees. */
  error(reason: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#controller.error(reason);
    this.#wake();
  }
}

/** What a decoder does with its input; it pushes output into its {@link Outlet}. */
export interface DecoderSink {
  /** Decodes one input chunk; resolves once its output fit in the outlet. */
  write(chunk: Uint8Array): Promise<void> | void;
  /** The input ended: flush, and throw if it ended early. */
  close(): Promise<void> | void;
  /** Stop and release resources (an error or a cancelled reader). */
  abort(reason: unknown): void;
  /** The reader wants more output (optional: for decoders that pause themselves). */
  resume?(): void;
}

/**
 * A decoder as a `{ writable, readable }` pair, usable with `pipeThrough`. Errors thrown
 * by the sink end the output with that error; cancelling the output stops the sink and
 * errors the input side, as a `TransformStream` does.
 */
export function decoderPair(
  makeSink: (outlet: Outlet) => DecoderSink,
  options: { highWaterMark?: number } = {},
): { writable: WritableStream<Uint8Array>; readable: ReadableStream<Uint8Array> } {
  let writableController: WritableStreamDefaultController | undefined;
  let failure: unknown;
  const holder: { sink?: DecoderSink } = {};
  const outlet = new Outlet({
    highWaterMark: options.highWaterMark,
    onPull: () => holder.sink?.resume?.(),
    onCancel: (reason) => {
      failure ??= reason;
      holder.sink?.abort(reason);
      writableController?.error(reason);
    },
  });
  const s = holder.sink = makeSink(outlet);
  const fail = (e: unknown): never => {
    failure ??= e;
    outlet.error(failure);
    s.abort(failure);
    throw failure;
  };
  const writable = new WritableStream<Uint8Array>({
    start(c) {
      writableController = c;
    },
    async write(chunk) {
      if (failure !== undefined) throw failure;
      try {
        await s.write(chunk);
      } catch (e) {
        fail(e);
      }
    },
    async close() {
      if (failure !== undefined) throw failure;
      try {
        await s.close();
        outlet.close();
      } catch (e) {
        fail(e);
      }
    },
    abort(reason) {
      failure ??= reason;
      outlet.error(reason);
      s.abort(reason);
    },
  });
  return { writable, readable: outlet.readable };
}
