import { MemoryStore } from "../../src/store/memory.ts";
import { storeConformance } from "./suite.ts";

storeConformance(
  "MemoryStore",
  () => Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() }),
);
