// This module is browser compatible.
/**
 * Blob bodies in both directions: a download body that resumes where it was cut
 * (`Range: bytes=N-`, or skipping forward when the server ignores `Range`) and gives up on
 * a body that goes quiet; and upload bodies regrouped into fixed-size chunks.
 *
 * @example
 * ```ts
 * import { bodyReader, resumableBody } from "./blob_body.ts";
 * const bytes = new TextEncoder().encode("hello");
 * const body = await resumableBody(
 *   (from) => Promise.resolve(bodyReader(new Blob([bytes.subarray(from)]).stream(), 5 - from)),
 *   { size: 5, offset: 0, maxResumes: 1, idleMs: 1000, what: "fetch blob x" },
 * );
 * console.log(await new Response(body).text()); // hello
 * ```
 * @module
 */
import { NotFoundError, RegistryError, SizeMismatchError } from "../errors.ts";

/** The largest read of a blob body (what a socket buffered while the last piece was hashed). */
const LARGE_READ = 1 << 20;

/** What {@link BodyReader.read} gives: bytes, or the end. */
export interface BodyRead {
  /** True at the end of the body. */
  readonly done: boolean;
  /**
   * The bytes read (empty at the end). With a buffer given to `read`, a view on that
   * buffer at the same offset (the buffer was taken over by the read).
   */
  readonly value: Uint8Array<ArrayBuffer>;
}

/** Reads a blob body, into the caller's buffer or into its own. */
export interface BodyReader {
  /**
   * The next bytes. `into`: read into this view (its buffer is taken over; the result is
   * a view on it at the same offset, also at the end). Without it, the bytes come in a
   * buffer of their own, as large as what arrived (up to 1 MiB).
   */
  read(into?: Uint8Array<ArrayBuffer>): Promise<BodyRead>;
  /** Stops the body. */
  cancel(reason?: unknown): Promise<void>;
}

/**
 * A reader of `body` (`expected`: bytes still to come, which keeps small blobs' buffers
 * small) that drops the first `skip` bytes (a server that ignored `Range`). Over a byte
 * stream (fetch bodies in Deno and Chromium) every read takes everything that arrived, up
 * to the buffer's size — into the caller's buffer when it gives one (no copy), else into one
 * reused 1 MiB buffer handed on as a copy of exactly the bytes read (a consumer that keeps
 * pieces keeps no more than their bytes). A 100 MB blob then takes a few hundred reads, not
 * thousands. Other bodies are read as they come (copied into `into`, the rest kept for the
 * next read).
 */
export function bodyReader(
  body: ReadableStream<Uint8Array>,
  expected: number,
  skip = 0,
): BodyReader {
  let byob: ReadableStreamBYOBReader | undefined;
  let plain: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    plain = body.getReader();
  }
  let own: Uint8Array<ArrayBuffer> | undefined;
  let rest: Uint8Array<ArrayBuffer> | undefined;
  /** One read of the body, skipping nothing. */
  const once = async (into?: Uint8Array<ArrayBuffer>): Promise<BodyRead> => {
    if (byob) {
      if (into) {
        const r = await byob.read(into);
        return { done: r.done, value: r.value ?? into.subarray(0, 0) };
      }
      own ??= new Uint8Array(Math.min(LARGE_READ, Math.max(64 * 1024, expected)));
      const r = await byob.read(own);
      if (r.done) return { done: true, value: new Uint8Array() };
      own = new Uint8Array(r.value.buffer);
      return { done: false, value: r.value.slice() };
    }
    let chunk = rest;
    rest = undefined;
    if (!chunk) {
      const r = await plain!.read();
      if (r.done) return { done: true, value: into?.subarray(0, 0) ?? new Uint8Array() };
      chunk = r.value as Uint8Array<ArrayBuffer>;
    }
    if (!into) return { done: false, value: chunk };
    const n = Math.min(chunk.byteLength, into.byteLength);
    into.set(chunk.subarray(0, n));
    if (n < chunk.byteLength) rest = chunk.subarray(n);
    return { done: false, value: into.subarray(0, n) };
  };
  let left = skip;
  return {
    async read(into) {
      // (A view whose buffer a read took reports length 0: keep its shape apart.)
      const at = into?.byteOffset ?? 0;
      const length = into?.byteLength ?? 0;
      for (;;) {
        const r = await once(into);
        if (r.done || left === 0) return r;
        if (r.value.byteLength <= left) {
          left -= r.value.byteLength;
          if (into) into = new Uint8Array(r.value.buffer, at, length);
          continue;
        }
        const drop = left;
        left = 0;
        if (!into) return { done: false, value: r.value.subarray(drop) };
        r.value.copyWithin(0, drop); // the caller's bytes start where its view does
        return { done: false, value: r.value.subarray(0, r.value.byteLength - drop) };
      }
    },
    async cancel(reason) {
      await (byob ?? plain!).cancel(reason);
    },
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
 * The bytes of a blob from `options.offset` as one byte stream, over readers
 * `open(position)` gives (the first is opened now): a reader that ends early, fails or
 * stays quiet is replaced by `open(position)` again, at most `maxResumes` times. A consumer
 * that reads with a BYOB reader gets the body read straight into its buffers (no copy, no
 * allocation per read); a default reader gets pieces of their own.
 */
export async function resumableBody(
  open: (position: number) => Promise<BodyReader>,
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
    reader = await open(position);
  };
  /**
   * The next bytes: into `into` (taken over) when given. A view on a buffer of the same
   * size is returned at the end too (a BYOB request needs one to answer).
   */
  const next = async (into?: Uint8Array<ArrayBuffer>): Promise<BodyRead> => {
    // (A view whose buffer a read took reports length 0: keep its shape apart.)
    const shape = into &&
      { size: into.buffer.byteLength, at: into.byteOffset, length: into.byteLength };
    for (;;) {
      let r: BodyRead;
      try {
        const current = reader;
        r = await idle.read(() => current.read(into), (e) => current.cancel(e));
      } catch (e) {
        // The read took the buffer with it: go on in a new one of the same shape.
        if (shape) into = new Uint8Array(new ArrayBuffer(shape.size), shape.at, shape.length);
        if (e instanceof RegistryError || e instanceof NotFoundError) throw e;
        await resume(
          new RegistryError(`Cannot ${what}: ${(e as Error).message}`, undefined, { cause: e }),
        );
        continue;
      }
      if (shape) {
        into = r.value.buffer.byteLength === shape.size
          ? new Uint8Array(r.value.buffer, shape.at, shape.length)
          : new Uint8Array(new ArrayBuffer(shape.size), shape.at, shape.length);
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
        return r;
      }
      if (r.value.byteLength === 0) continue;
      position += r.value.byteLength;
      return r;
    }
  };
  const source: UnderlyingByteSource = {
    type: "bytes",
    async pull(controller: ReadableByteStreamController) {
      try {
        const request = controller.byobRequest;
        const view = request?.view;
        if (request && view) {
          const r = await next(
            new Uint8Array(view.buffer as ArrayBuffer, view.byteOffset, view.byteLength),
          );
          if (r.done) controller.close();
          request.respondWithNewView(r.value);
          return;
        }
        const r = await next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      } catch (e) {
        idle.stop();
        throw e;
      }
    },
    async cancel(reason) {
      idle.stop();
      await reader.cancel(reason).catch(() => {});
    },
  };
  return new ReadableStream(source);
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
  #pending?: { cancel: (e: Error) => Promise<void>; reject: (e: Error) => void };

  constructor(ms: number) {
    this.#ms = ms;
  }

  read<T>(read: () => Promise<T>, cancel: (e: Error) => Promise<void>): Promise<T> {
    this.#deadline = Date.now() + this.#ms;
    this.#timer ??= setTimeout(() => this.#check(), this.#ms);
    return new Promise((resolve, reject) => {
      this.#pending = { cancel, reject };
      read().then(resolve, reject).finally(() => {
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
    pending.cancel(e).catch(() => {});
    pending.reject(e);
  }

  /** Stops the timer (the body ended or was cancelled). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
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
