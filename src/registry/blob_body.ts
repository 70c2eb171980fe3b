// This module is browser compatible.
/**
 * Blob bodies in both directions: a download body that resumes where it was cut
 * (`Range: bytes=N-`, or skipping forward when the server ignores `Range`) and gives up on
 * a body that goes quiet; and upload bodies regrouped into fixed-size chunks.
 *
 * @example
 * ```ts
 * import { resumableBody } from "./blob_body.ts";
 * const bytes = new TextEncoder().encode("hello");
 * const body = await resumableBody(
 *   (from) => Promise.resolve(new Blob([bytes.subarray(from)]).stream().getReader()),
 *   { size: 5, offset: 0, maxResumes: 1, idleMs: 1000, what: "fetch blob x" },
 * );
 * console.log(await new Response(body).text()); // hello
 * ```
 * @module
 */
import { NotFoundError, RegistryError, SizeMismatchError } from "../errors.ts";

/** The largest read of a blob body (what a socket buffered while the last piece was hashed). */
const LARGE_READ = 1 << 20;

/**
 * A reader of `body` that takes, per read, everything that arrived up to 1 MiB (a BYOB read
 * into one reused buffer, handed on as a copy of exactly the bytes read, so a consumer that
 * keeps pieces keeps no more than their bytes), where the body is a byte stream (fetch
 * bodies in Deno and Chromium): a 100 MB blob then takes a few hundred reads, not
 * thousands. Other bodies get a plain reader. `expected` (bytes still to come) keeps small
 * blobs' buffers small.
 */
export function largeReads(
  body: ReadableStream<Uint8Array>,
  expected: number,
): ReadableStreamDefaultReader<Uint8Array> {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    return body.getReader();
  }
  let buffer = new Uint8Array(Math.min(LARGE_READ, Math.max(64 * 1024, expected)));
  return {
    get closed() {
      return byob.closed;
    },
    async read(): Promise<ReadableStreamReadResult<Uint8Array>> {
      // One buffer for every read; what is handed on is a copy of exactly the bytes read
      // (the last piece may still be on its way downstream).
      const r = await byob.read(buffer);
      if (r.done) return { done: true, value: undefined };
      buffer = new Uint8Array(r.value.buffer);
      return { done: false, value: r.value.slice() };
    },
    cancel: (reason) => byob.cancel(reason),
    releaseLock: () => byob.releaseLock(),
  };
}

/** Options of {@link resumableBody}. */
export interface ResumableBodyOptions {
  /** The blob's size (the body must reach it). */
  readonly size: number;
  /** Where the first reader starts. */
  readonly offset: number;
  /** Times a cut or quiet body is opened again. */
  readonly maxResumes: number;
  /** A body that sends nothing for this long (ms) is given up and resumed. */
  readonly idleMs: number;
  /** For messages: `fetch blob sha256:… from host/repo`. */
  readonly what: string;
  /** Told the position each time the body is opened again. */
  readonly onResume?: (offset: number) => void;
}

/**
 * The bytes of a blob from `options.offset` as one stream, over readers `open(position)`
 * gives (the first is opened now): a reader that ends early, fails or stays quiet is
 * replaced by `open(position)` again, at most `maxResumes` times.
 */
export async function resumableBody(
  open: (position: number) => Promise<ReadableStreamDefaultReader<Uint8Array>>,
  options: ResumableBodyOptions,
): Promise<ReadableStream<Uint8Array>> {
  const { size, what } = options;
  let position = options.offset;
  let resumes = 0;
  let reader = await open(position);
  const idle = new IdleGuard(options.idleMs);
  const resume = async (cause: unknown): Promise<void> => {
    if (resumes >= options.maxResumes || (size >= 0 && position >= size)) throw cause;
    resumes++;
    options.onResume?.(position);
    reader.releaseLock?.();
    reader = await open(position);
  };
  const next = async (controller: ReadableStreamDefaultController<Uint8Array>) => {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await idle.read(reader);
      } catch (e) {
        if (e instanceof RegistryError || e instanceof NotFoundError) throw e;
        await resume(
          new RegistryError(`Cannot ${what}: ${(e as Error).message}`, undefined, { cause: e }),
        );
        continue;
      }
      if (r.done) {
        if (position < size) {
          await resume(
            new SizeMismatchError(
              `Cannot ${what}: the body ended after ${position} of ${size} bytes`,
              size,
              position,
            ),
          );
          continue;
        }
        idle.stop();
        controller.close();
        return;
      }
      if (r.value.byteLength === 0) continue;
      position += r.value.byteLength;
      controller.enqueue(r.value);
      return;
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        await next(controller);
      } catch (e) {
        idle.stop();
        throw e;
      }
    },
    async cancel(reason) {
      idle.stop();
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

/**
 * Reads from the current reader of a blob body, failing a read when nothing comes for
 * `ms` (the reader is then cancelled). One timer per quiet period, not one per chunk: a
 * 100 MB body arrives in thousands of chunks.
 */
class IdleGuard {
  #ms: number;
  #deadline = 0;
  #timer?: ReturnType<typeof setTimeout>;
  #pending?: { reader: ReadableStreamDefaultReader<Uint8Array>; reject: (e: Error) => void };

  constructor(ms: number) {
    this.#ms = ms;
  }

  read(
    reader: ReadableStreamDefaultReader<Uint8Array>,
  ): Promise<ReadableStreamReadResult<Uint8Array>> {
    this.#deadline = Date.now() + this.#ms;
    this.#timer ??= setTimeout(() => this.#check(), this.#ms);
    return new Promise((resolve, reject) => {
      this.#pending = { reader, reject };
      reader.read().then(resolve, reject).finally(() => {
        this.#pending = undefined;
      });
    });
  }

  #check(): void {
    this.#timer = undefined;
    const pending = this.#pending;
    if (!pending) return; // quiet between reads: the next read arms the timer again
    const left = this.#deadline - Date.now();
    if (left > 0) {
      this.#timer = setTimeout(() => this.#check(), left);
      return;
    }
    const e = new TypeError(`no data for ${Math.round(this.#ms / 1000)} s`);
    pending.reader.cancel(e).catch(() => {});
    pending.reject(e);
  }

  /** Stops the timer (the body ended or was cancelled). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** A reader that drops the first `skip` bytes of another. */
export function skipping(
  inner: ReadableStreamDefaultReader<Uint8Array>,
  skip: number,
): ReadableStreamDefaultReader<Uint8Array> {
  let left = skip;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const r = await inner.read();
        if (r.done) {
          controller.close();
          return;
        }
        let chunk = r.value;
        if (left > 0) {
          if (chunk.byteLength <= left) {
            left -= chunk.byteLength;
            continue;
          }
          chunk = chunk.subarray(left);
          left = 0;
        }
        controller.enqueue(chunk);
        return;
      }
    },
    cancel(reason) {
      return inner.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return stream.getReader();
}

/** Regroups a stream into pieces of exactly `size` bytes (the last may be shorter). */
export async function* fixedChunks(
  stream: ReadableStream<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(size);
  let fill = 0;
  for await (const chunk of stream) {
    let off = 0;
    while (off < chunk.byteLength) {
      const n = Math.min(size - fill, chunk.byteLength - off);
      buf.set(chunk.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === size) {
        yield buf;
        buf = new Uint8Array(size);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}
