import { Effect, Stream } from "effect"
import { StoreError } from "../src/domain/Errors.ts"
import { OBJECT_ID_PATTERN, type SourceRecord } from "../src/domain/Source.ts"
import { ConversationStore } from "../src/services/ConversationStore.ts"
import { oid } from "../test/support/fixtures.ts"

/** What the sink saw: every write batch mode makes, counted, nothing kept. */
export interface SinkCounts {
  readonly records: number
  /** `upsertResult` calls. */
  readonly upserts: number
  /** Distinct in-range source ids among them (a bitset indexed by record number). */
  readonly distinct: number
  /** Upserts of an id already upserted. */
  readonly duplicates: number
  /** Upserts whose id is not one of the generated records, or whose result names another id. */
  readonly foreign: number
  /** Upserts without `analysis_metadata.service_tier: "batch"`. */
  readonly notBatchTier: number
  readonly deadLetters: number
  readonly resolved: number
  /** `readByIds` ids asked for, and records returned. */
  readonly idsAsked: number
  readonly idsFound: number
}

/** The index of the record an id names, or -1 when it is not one of `oid(0..n-1)`. */
const indexOf = (id: string, n: number): number => {
  if (!OBJECT_ID_PATTERN.test(id)) return -1
  const i = Number.parseInt(id.slice(8), 16)
  return Number.isSafeInteger(i) && i >= 0 && i < n && oid(i) === id ? i : -1
}

/** Index of the first record whose id is greater than `after` (ids of equal length order as strings). */
const firstAfter = (after: string | null, n: number): number => {
  if (after === null) return 0
  let lo = 0
  let hi = n
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (oid(mid) <= after) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Records emitted per chunk, like a MongoDB cursor's first batch. */
const CHUNK = 101

const unused = (method: string) => Effect.die(`GeneratedConversationStore.${method}: not used by batch mode, not implemented by the bench store`)

/**
 * A `ConversationStore` for the batch-mode memory bench: `records` source documents generated
 * on demand (record i has `_id` `oid(i)` and the body of `docs[i % docs.length]`, shared, not
 * copied), so memory does not grow with the record count; writes are a sink that counts. It
 * stands in for MongoDB where FerretDB cannot reach 100,000 records in reasonable time.
 *
 * Only what batch mode calls is real; the dead-letter collection is empty (batch mode's
 * `listDeadLetters` gets []), and the report/stats methods die.
 */
export const makeGeneratedStore = (records: number, docs: ReadonlyArray<unknown>) => {
  const seen = new Uint8Array(Math.ceil(records / 8))
  const counts = {
    records,
    upserts: 0,
    distinct: 0,
    duplicates: 0,
    foreign: 0,
    notBatchTier: 0,
    deadLetters: 0,
    resolved: 0,
    idsAsked: 0,
    idsFound: 0
  }
  const record = (i: number): SourceRecord => ({ id: oid(i), doc: docs[i % docs.length] })
  const store = ConversationStore.of({
    readAfter: (after, limit) =>
      Stream.suspend(() => {
        if (after !== null && !OBJECT_ID_PATTERN.test(after)) {
          return Stream.fail(new StoreError({ reason: "Invalid", operation: "ConversationStore.readAfter", message: `checkpoint ${JSON.stringify(after)} is not an ObjectId` }))
        }
        const start = firstAfter(after, records)
        const end = Math.min(records, start + Math.max(0, limit))
        return Stream.fromIterable((function*() {
          for (let i = start; i < end; i++) yield record(i)
        })(), { chunkSize: CHUNK })
      }),
    readByIds: (ids) =>
      Stream.suspend(() => {
        counts.idsAsked += ids.length
        const wanted = [...new Set(ids.map((id) => indexOf(id, records)).filter((i) => i >= 0))].sort((a, b) => a - b)
        counts.idsFound += wanted.length
        return Stream.fromIterable(wanted.map(record))
      }),
    upsertResult: (result) =>
      Effect.sync(() => {
        counts.upserts++
        const i = indexOf(result.source_object_id, records)
        if (i < 0) {
          counts.foreign++
          return
        }
        if (result.analysis_metadata.service_tier !== "batch") counts.notBatchTier++
        const bit = 1 << (i & 7)
        if ((seen[i >> 3]! & bit) !== 0) counts.duplicates++
        else {
          seen[i >> 3]! |= bit
          counts.distinct++
        }
      }),
    upsertDeadLetter: () => Effect.sync(() => void counts.deadLetters++),
    resolveDeadLetter: () =>
      Effect.sync(() => {
        counts.resolved++
        return false
      }),
    markRetryRequested: () => Effect.succeed(0),
    listDeadLetters: () => Effect.succeed([]),
    countDeadLetters: () => Effect.succeed([]),
    counts: (after) =>
      Effect.sync(() => ({ sources: records, results: counts.distinct, openDeadLetters: 0, backlog: records - firstAfter(after, records), unreadable: 0 })),
    backlog: (after) => Effect.sync(() => records - firstAfter(after, records)),
    recentResults: () => unused("recentResults"),
    modelsUsed: unused("modelsUsed"),
    resultIds: () => unused("resultIds"),
    resultsByIds: () => unused("resultsByIds"),
    scanResults: () => Stream.die("GeneratedConversationStore.scanResults: not used by batch mode, not implemented by the bench store"),
    latestConversationTime: () => unused("latestConversationTime"),
    countSourcesCreated: () => unused("countSourcesCreated"),
    ping: Effect.void
  })
  return { store, counts: (): SinkCounts => ({ ...counts }) }
}
