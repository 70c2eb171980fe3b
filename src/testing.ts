// This module is browser compatible.
/**
 * `@lading/oci/testing` — test doubles for code built on lading: {@link MemoryRegistry}, a
 * distribution registry in memory (a `fetch` for `RegistryClient`, or a request handler
 * for `Deno.serve`), so pulls and pushes can be tested without a server.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "@lading/oci";
 * import { MemoryRegistry } from "@lading/oci/testing";
 * const registry = new MemoryRegistry();
 * const client = new RegistryClient("registry.test", { fetch: registry.fetch });
 * await client.ping();
 * console.log(registry.requests); // [ "GET /v2/" ]
 * ```
 * @module
 */
export { MemoryRegistry, type MemoryRegistryOptions } from "./registry/memory_registry.ts";
