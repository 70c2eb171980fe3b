// This module is browser compatible.
/**
 * The OPFS store's helper worker: writes and hashes blob bytes in parallel with the
 * importer (see `writerWorker` in src/store/opfs.ts).
 * @module
 */
import { serveOpfsWriter } from "../src/store/opfs.ts";

serveOpfsWriter(globalThis as unknown as Parameters<typeof serveOpfsWriter>[0]);
