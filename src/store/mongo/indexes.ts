import { Effect } from "effect"
import { StoreError } from "../../domain/Errors.ts"
import { isNamespaceNotFound, isNotImplemented, isUnauthorized } from "./errors.ts"
import type { Mongo } from "./MongoClient.ts"

export interface IndexSpec {
  readonly collection: string
  readonly key: Readonly<Record<string, 1 | -1>>
  readonly unique: boolean
  /** Required indexes fail the layer when refused; optional ones are skipped when the server lacks them or the user may not create them. */
  readonly required: boolean
}

const sameKey = (a: unknown, b: Readonly<Record<string, number>>): boolean =>
  typeof a === "object" && a !== null && JSON.stringify(a) === JSON.stringify(b)

/**
 * Creates an index unless an equivalent one exists (so a user without the createIndex
 * privilege can still run against a prepared database). A required index the server refuses
 * fails the layer: idempotent writes rest on the unique indexes.
 */
export const ensureIndex = (mongo: Mongo["Service"], operation: string, spec: IndexSpec): Effect.Effect<void, StoreError> => {
  const name = `${spec.collection}(${Object.keys(spec.key).join(", ")})${spec.unique ? " unique" : ""}`
  return mongo.use(operation, async (db): Promise<"exists" | "created" | "skipped"> => {
    const collection = db.collection(spec.collection)
    const existing = await collection.listIndexes().toArray().catch((error: unknown) => {
      if (isNamespaceNotFound(error)) return []
      throw error
    })
    if (existing.some((ix) => sameKey(ix.key, spec.key) && (!spec.unique || ix.unique === true))) return "exists"
    try {
      await collection.createIndex({ ...spec.key }, { unique: spec.unique })
      return "created"
    } catch (error) {
      if (!spec.required && (isNotImplemented(error) || isUnauthorized(error))) return "skipped"
      throw error
    }
  }).pipe(
    Effect.mapError((error) =>
      new StoreError({
        reason: error.reason,
        operation: error.operation,
        message: `cannot create the index ${name}: ${error.message}${
          spec.unique ? " (a unique index also fails when the collection already holds duplicates)" : ""
        }`
      })
    ),
    Effect.flatMap((outcome) =>
      outcome === "skipped"
        ? Effect.logWarning(`the index ${name} is not available (server lacks it or user may not create it); continuing without it`)
        : Effect.void
    )
  )
}
