import { Effect, Layer, Stream } from "effect"
import { type DeadLetter, type DeadLetterFilter, type DeadLetterInput, foldDeadLetter } from "../../domain/DeadLetter.ts"
import { type AgenticAnalysis, toResultRow } from "../../domain/Result.ts"
import { StoreError } from "../../domain/Errors.ts"
import { OBJECT_ID_PATTERN, objectIdTime, type SourceRecord } from "../../domain/Source.ts"
import { ConversationStore, type DeadLetterCount, type ModelUsed } from "../../services/ConversationStore.ts"

/** The state behind the in-memory store, exposed so tests can look inside and add documents. */
export interface MemoryStoreState {
  /** Source records sorted by id (those whose id is an ObjectId, as MongoDB's reads see them). */
  readonly sources: Array<SourceRecord>
  /** Source records whose id is not an ObjectId: counted, never read. */
  readonly unreadable: Array<SourceRecord>
  readonly results: Map<string, AgenticAnalysis>
  readonly deadLetters: Map<string, DeadLetter>
  /** Adds source records, keeping `_id` order (an existing id is replaced). */
  readonly insertSources: (records: ReadonlyArray<SourceRecord>) => void
}

export const makeMemoryStoreState = (seed: ReadonlyArray<SourceRecord> = []): MemoryStoreState => {
  const sources: Array<SourceRecord> = []
  const unreadable: Array<SourceRecord> = []
  const state: MemoryStoreState = {
    sources,
    unreadable,
    results: new Map(),
    deadLetters: new Map(),
    insertSources: (records) => {
      const byId = new Map(sources.map((r) => [r.id, r]))
      for (const r of records) {
        if (OBJECT_ID_PATTERN.test(r.id)) byId.set(r.id, r)
        else unreadable.push(r)
      }
      sources.splice(0, sources.length, ...[...byId.values()].sort((a, b) => compareIds(a.id, b.id)))
    }
  }
  state.insertSources(seed)
  return state
}

/** ObjectId hex strings of equal length order like the ids themselves. */
const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Index of the first record with id > after. */
const firstAfter = (sources: ReadonlyArray<SourceRecord>, after: string | null): number => {
  if (after === null) return 0
  let lo = 0
  let hi = sources.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sources[mid]!.id <= after) lo = mid + 1
    else hi = mid
  }
  return lo
}

const matches = (d: DeadLetter, f: DeadLetterFilter): boolean =>
  (f.status === undefined || d.status === f.status) &&
  (f.errorTag === undefined || d.error.tag === f.errorTag || d.error.reason === f.errorTag) &&
  (f.ids === undefined || f.ids.includes(d.source_object_id)) &&
  (f.afterId === undefined || d.source_object_id > f.afterId) &&
  (f.retryRequested === undefined || d.retry_requested_at != null)

export const makeMemoryConversationStore = (state: MemoryStoreState): ConversationStore["Service"] => {
  const backlog = (after: string | null) => state.sources.length - firstAfter(state.sources, after)
  return ConversationStore.of({
    readAfter: (after, limit) =>
      Stream.suspend(() => {
        if (after !== null && !OBJECT_ID_PATTERN.test(after)) {
          return Stream.fail(new StoreError({ reason: "Invalid", operation: "ConversationStore.readAfter", message: `checkpoint ${JSON.stringify(after)} is not an ObjectId` }))
        }
        const start = firstAfter(state.sources, after)
        return Stream.fromIterable(state.sources.slice(start, start + limit))
      }),
    readByIds: (ids) =>
      Stream.suspend(() => {
        const wanted = new Set(ids)
        return Stream.fromIterable(state.sources.filter((r) => wanted.has(r.id)))
      }),
    upsertResult: (result: AgenticAnalysis) =>
      Effect.sync(() => {
        state.results.set(result.source_object_id, result)
      }),
    upsertDeadLetter: (input: DeadLetterInput) =>
      Effect.sync(() => {
        state.deadLetters.set(input.source_object_id, foldDeadLetter(state.deadLetters.get(input.source_object_id), input))
      }),
    resolveDeadLetter: (sourceId, at) =>
      Effect.sync(() => {
        const d = state.deadLetters.get(sourceId)
        if (d === undefined || d.status !== "open") return false
        state.deadLetters.set(sourceId, { ...d, status: "resolved", resolved_at: at })
        return true
      }),
    markRetryRequested: (ids, at) =>
      Effect.sync(() => {
        let changed = 0
        for (const id of ids) {
          const d = state.deadLetters.get(id)
          if (d === undefined || (at !== null && d.status !== "open")) continue
          state.deadLetters.set(id, { ...d, retry_requested_at: at })
          changed++
        }
        return changed
      }),
    listDeadLetters: (filter) =>
      Effect.sync(() =>
        [...state.deadLetters.values()]
          .filter((d) => matches(d, filter))
          .sort((a, b) =>
            (filter.oldestFirst === true ? compareIds(a.last_failed_at, b.last_failed_at) : compareIds(b.last_failed_at, a.last_failed_at)) ||
            compareIds(a.source_object_id, b.source_object_id)
          )
          .slice(0, filter.limit ?? Number.POSITIVE_INFINITY)
      ),
    countDeadLetters: (status) =>
      Effect.sync(() => {
        const counts = new Map<string, number>()
        for (const d of state.deadLetters.values()) {
          if (d.status === status) counts.set(d.error.tag, (counts.get(d.error.tag) ?? 0) + 1)
        }
        return [...counts].map(([tag, count]): DeadLetterCount => ({ tag, count }))
          .sort((a, b) => b.count - a.count || compareIds(a.tag, b.tag))
      }),
    counts: (after) =>
      Effect.sync(() => ({
        sources: state.sources.length + state.unreadable.length,
        results: state.results.size,
        openDeadLetters: [...state.deadLetters.values()].filter((d) => d.status === "open").length,
        backlog: backlog(after),
        unreadable: state.unreadable.length
      })),
    backlog: (after) =>
      Effect.suspend(() =>
        after !== null && !OBJECT_ID_PATTERN.test(after)
          ? Effect.fail(new StoreError({ reason: "Invalid", operation: "ConversationStore.backlog", message: `checkpoint ${JSON.stringify(after)} is not an ObjectId` }))
          : Effect.succeed(backlog(after))
      ),
    recentResults: (limit) =>
      Effect.sync(() =>
        [...state.results.values()]
          .sort((a, b) =>
            compareIds(b.analysis_metadata.processed_timestamp, a.analysis_metadata.processed_timestamp) ||
            compareIds(b.source_object_id, a.source_object_id)
          )
          .slice(0, limit)
      ),
    modelsUsed: Effect.sync(() => {
      const byModel = new Map<string, { results: number; latest: string }>()
      for (const r of state.results.values()) {
        const m = r.analysis_metadata
        const seen = byModel.get(m.model_used)
        if (seen === undefined) byModel.set(m.model_used, { results: 1, latest: m.processed_timestamp })
        else byModel.set(m.model_used, { results: seen.results + 1, latest: seen.latest > m.processed_timestamp ? seen.latest : m.processed_timestamp })
      }
      return [...byModel].map(([model, s]): ModelUsed => ({ model, ...s }))
        .sort((a, b) => compareIds(b.latest, a.latest) || compareIds(a.model, b.model))
    }),
    resultIds: (modelUsed) =>
      Effect.sync(() =>
        [...state.results.values()].filter((r) => r.analysis_metadata.model_used === modelUsed).map((r) => r.source_object_id).sort(compareIds)
      ),
    resultsByIds: (ids) =>
      Effect.sync(() =>
        [...new Set(ids)].flatMap((id) => {
          const r = state.results.get(id)
          return r === undefined ? [] : [r]
        }).sort((a, b) => compareIds(a.source_object_id, b.source_object_id))
      ),
    scanResults: (window) =>
      Stream.suspend(() =>
        Stream.fromIterable(
          [...state.results.values()]
            .filter((r) => r.source_timestamp >= window.since && r.source_timestamp < window.until)
            .map(toResultRow)
        )
      ),
    latestConversationTime: (modelUsed) =>
      Effect.sync(() => {
        let latest: string | undefined
        for (const r of state.results.values()) {
          if (modelUsed !== undefined && r.analysis_metadata.model_used !== modelUsed) continue
          if (latest === undefined || r.source_timestamp > latest) latest = r.source_timestamp
        }
        return latest
      }),
    countSourcesCreated: (since, until) =>
      Effect.sync(() =>
        state.sources.filter((r) => {
          const t = objectIdTime(r.id).getTime()
          return t >= since.getTime() && t < until.getTime()
        }).length
      ),
    ping: Effect.void
  })
}

export class MemoryConversationStore {
  /** An in-memory `ConversationStore` over the given state (or a fresh, empty one). */
  static readonly layer = (state: MemoryStoreState = makeMemoryStoreState()) =>
    Layer.succeed(ConversationStore, makeMemoryConversationStore(state))
}
