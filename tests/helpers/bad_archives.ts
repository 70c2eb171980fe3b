/**
 * Hand-made tar archives for the importer's bad-input tests: headers written byte by byte
 * so that a test can produce what no well-behaved tar writer would (a wrong checksum, a
 * sparse typeflag, a GNU.sparse PAX record, `../` or absolute names, duplicate members,
 * symlinks anywhere, truncation).
 * @module
 */

const enc = new TextEncoder();

/** One member of a raw tar. */
export interface RawMember {
  /** Stored name (up to 100 bytes; use `pax.path` for longer ones). */
  name: string;
  /** Body bytes (regular files, and the fake body of sparse members). */
  body?: Uint8Array | string;
  /** Typeflag character: `0` file (default), `2` symlink, `1` hardlink, `5` directory, `S` sparse. */
  type?: string;
  /** Link target for `1` and `2`. */
  linkname?: string;
  /** PAX records written in an `x` header before this member. */
  pax?: Record<string, string>;
  /** Write a header checksum that is off by one. */
  badChecksum?: boolean;
}

function field(block: Uint8Array, at: number, length: number, value: string): void {
  const bytes = enc.encode(value);
  if (bytes.byteLength > length) throw new TypeError(`tar field too long: ${value}`);
  block.set(bytes, at);
}

function octal(block: Uint8Array, at: number, length: number, value: number): void {
  field(block, at, length, value.toString(8).padStart(length - 1, "0") + "\0");
}

/** One 512-byte ustar header. */
export function tarHeader(
  name: string,
  options: {
    size?: number;
    type?: string;
    linkname?: string;
    mode?: number;
    badChecksum?: boolean;
  } = {},
): Uint8Array {
  const block = new Uint8Array(512);
  field(block, 0, 100, name);
  octal(block, 100, 8, options.mode ?? (options.type === "5" ? 0o755 : 0o644));
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, options.size ?? 0);
  octal(block, 136, 12, 0);
  block.fill(0x20, 148, 156);
  field(block, 156, 1, options.type ?? "0");
  if (options.linkname) field(block, 157, 100, options.linkname);
  field(block, 257, 6, "ustar\0");
  field(block, 263, 2, "00");
  field(block, 265, 32, "root");
  field(block, 297, 32, "root");
  let sum = 0;
  for (const b of block) sum += b;
  if (options.badChecksum) sum += 1;
  field(block, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return block;
}

function padded(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.byteLength / 512) * 512);
  out.set(bytes);
  return out;
}

function paxRecords(records: Record<string, string>): Uint8Array {
  let text = "";
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = enc.encode(body).byteLength + 1;
    while (String(len).length + enc.encode(body).byteLength !== len) {
      len = String(len).length + enc.encode(body).byteLength;
    }
    text += `${len}${body}`;
  }
  return enc.encode(text);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** A tar of raw members, ended by two zero blocks (unless `end: false`). */
export function rawTar(members: RawMember[], options: { end?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of members) {
    if (m.pax) {
      const data = paxRecords(m.pax);
      parts.push(
        tarHeader(`PaxHeaders/${m.name}`.slice(0, 99), { size: data.byteLength, type: "x" }),
      );
      parts.push(padded(data));
    }
    const body = typeof m.body === "string" ? enc.encode(m.body) : m.body ?? new Uint8Array(0);
    const type = m.type ?? "0";
    const hasBody = type === "0" || type === "S";
    parts.push(tarHeader(m.name, {
      size: hasBody ? body.byteLength : 0,
      type,
      linkname: m.linkname,
      badChecksum: m.badChecksum,
    }));
    if (hasBody) parts.push(padded(body));
  }
  if (options.end !== false) parts.push(new Uint8Array(1024));
  return concat(parts);
}

/** Regular-file members for every entry of a files map (sorted by path). */
export function membersOf(files: Map<string, Uint8Array>, prefix = ""): RawMember[] {
  return [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, body]) => ({
    name: prefix + name,
    body,
  }));
}

/** A byte stream of these bytes, in chunks of `chunkSize`. */
export function streamOf(bytes: Uint8Array, chunkSize = 64 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.byteLength) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + chunkSize));
      at += chunkSize;
    },
  });
}
