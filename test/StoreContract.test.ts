import { describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { inject } from "vitest"
import { MemoryConversationStore, makeMemoryStoreState } from "../src/store/memory/MemoryConversationStore.ts"
import { MemoryJobStateStore } from "../src/store/memory/MemoryJobStateStore.ts"
import { isFerretDb, mongoStores } from "./contract/mongoHarness.ts"
import { ContractSources, storeContract } from "./contract/storeContract.ts"

storeContract({
  name: "in-memory",
  makeLayer: () => {
    const state = makeMemoryStoreState()
    return Layer.mergeAll(
      MemoryConversationStore.layer(state),
      MemoryJobStateStore.layer(new Map()),
      Layer.succeed(ContractSources, ContractSources.of({ insert: (records) => Effect.sync(() => state.insertSources(records)) }))
    )
  },
  atomicConcurrentUpdates: true
})

const mongoUri = inject("mongoUri")

if (mongoUri === "") {
  process.stderr.write("\n!!! StoreContract.test.ts: NO MONGODB SERVER: the MongoDB half of the store contract is SKIPPED\n\n")
  describe("store contract: MongoDB", () => {
    it.skip("SKIPPED: no MongoDB-compatible server (see the warning of test/support/mongo-global-setup.ts)", () => {})
  })
} else {
  storeContract({
    name: "MongoDB",
    makeLayer: () => mongoStores(mongoUri),
    // FerretDB 1.x on SQLite loses concurrent updates of one document; MongoDB does not.
    atomicConcurrentUpdates: !(await isFerretDb(mongoUri))
  })
}
