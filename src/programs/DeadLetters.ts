import { Clock, Console, Effect, Stream } from "effect"
import { isoSeconds } from "../domain/Text.ts"
import type { DeadLetter, DeadLetterFilter } from "../domain/DeadLetter.ts"
import { InputError, RunFatal } from "../domain/Errors.ts"
import { OBJECT_ID_PATTERN } from "../domain/Source.ts"
import type { BatchStats } from "../domain/JobState.ts"
import { ConversationStore } from "../services/ConversationStore.ts"
import { Settings } from "../services/Settings.ts"
import { addOutcome, makeProcessRecord, noOutcomes } from "./Batch.ts"
import { storeOp } from "./StoreOp.ts"
import { formatBatchResults } from "./Reports.ts"

const pad = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}… ` : s.padEnd(n + 1))

export const formatDeadLetterTable = (rows: ReadonlyArray<DeadLetter>): string =>
  [
    `${pad("SOURCE ID", 24)}${pad("ERROR", 28)}${pad("ATTEMPTS", 8)}${pad("LAST FAILURE", 24)}MESSAGE`,
    ...rows.map((d) =>
      `${pad(d.source_object_id, 24)}${pad(d.error.reason ? `${d.error.tag}/${d.error.reason}` : d.error.tag, 28)}${
        pad(String(d.attempts), 8)
      }${pad(d.last_failed_at, 24)}${d.error.message}`
    )
  ].join("\n")

/** `dead-letters list`: open dead letters grouped by error tag, then the rows. */
export const listDeadLetters = Effect.fn("listDeadLetters")(function*(options: {
  readonly errorTag: string | undefined
  readonly limit: number
  readonly json: boolean
}) {
  const store = yield* ConversationStore
  const [groups, rows] = yield* Effect.all([
    storeOp(store.countDeadLetters("open")),
    storeOp(store.listDeadLetters({ status: "open", errorTag: options.errorTag, limit: options.limit }))
  ])
  if (options.json) {
    yield* Console.log(JSON.stringify({ counts: groups, records: rows }, null, 2))
    return rows
  }
  const total = groups.reduce((n, g) => n + g.count, 0)
  yield* Console.log(
    [
      `Open dead letters: ${total}`,
      ...groups.map((g) => `  ${g.tag}: ${g.count}`),
      "",
      rows.length === 0 ? "(no matching records)" : formatDeadLetterTable(rows),
      ...(rows.length < total && options.errorTag === undefined ? [`(${rows.length} of ${total} shown; --limit to see more)`] : [])
    ].join("\n")
  )
  return rows
})

/** A source id as the user typed it: 24 hex characters (any case), or an `InputError`. */
export const checkSourceId = (id: string): Effect.Effect<string, InputError> =>
  OBJECT_ID_PATTERN.test(id.toLowerCase())
    ? Effect.succeed(id.toLowerCase())
    : Effect.fail(new InputError({ message: `${JSON.stringify(id)} is not a source id (an _id of sentiment_analysis: 24 hex characters)` }))

/** `dead-letters show <id>`: the full typed error report. */
export const showDeadLetter = Effect.fn("showDeadLetter")(function*(id: string) {
  const store = yield* ConversationStore
  const sourceId = yield* checkSourceId(id)
  const [record] = yield* storeOp(store.listDeadLetters({ ids: [sourceId], limit: 1 }))
  if (record === undefined) {
    return yield* new InputError({ message: `no dead letter for source id ${sourceId} (cpa dead-letters list shows the open ones)` })
  }
  yield* Console.log(JSON.stringify(record, null, 2))
  return record
})

/**
 * The open dead letters a `dead-letters retry` selection names. Ids that have no open dead
 * letter are named: an id with no dead letter at all is an `InputError` (exit 2), one already
 * resolved is only reported.
 */
const selectOpen = Effect.fn("selectOpen")(function*(selection: DeadLetterFilter) {
  const store = yield* ConversationStore
  const wanted = selection.ids === undefined ? undefined : yield* Effect.forEach(selection.ids, checkSourceId)
  const open = yield* storeOp(store.listDeadLetters({ ...selection, ids: wanted, status: "open" }))
  const ids = open.map((d) => d.source_object_id)
  if (wanted !== undefined) {
    const others = yield* storeOp(store.listDeadLetters({ ids: wanted.filter((id) => !ids.includes(id)) }))
    for (const d of others) yield* Console.log(`${d.source_object_id}: resolved at ${d.resolved_at ?? "?"}; nothing to retry`)
    const unknown = wanted.filter((id) => !ids.includes(id) && !others.some((d) => d.source_object_id === id))
    if (unknown.length > 0) {
      return yield* new InputError({ message: `no dead letter for source id ${unknown.join(", ")} (cpa dead-letters list shows the open ones)` })
    }
  }
  if (ids.length === 0 && wanted === undefined) {
    yield* Console.log(`no open dead letters${selection.errorTag !== undefined ? ` with ${selection.errorTag}` : ""}: nothing to retry`)
  }
  return ids
})

/** Runs open dead letters through the same pipeline as a batch; the checkpoint is not touched. */
const retryIds = Effect.fn("retryIds")(function*(ids: ReadonlyArray<string>) {
  const settings = yield* Settings
  const store = yield* ConversationStore
  const startedMs = yield* Clock.currentTimeMillis
  if (ids.length > 0) yield* Effect.logInfo(`retrying ${ids.length} dead letter(s)`)
  const processRecord = yield* makeProcessRecord
  const { outcomes, last } = yield* store.readByIds(ids).pipe(
    Stream.mapError((e) => new RunFatal({ message: `MongoDB read failed (${e.reason}): ${e.message}` })),
    // Every record here has an open dead letter, which a success resolves.
    Stream.mapEffect((record) => processRecord(record, () => true), { concurrency: settings.concurrency, unordered: true }),
    Stream.runFold(() => ({ outcomes: noOutcomes, last: null as string | null }), (done, outcome) => ({
      outcomes: addOutcome(done.outcomes, outcome),
      last: done.last === null || outcome.sourceId > done.last ? outcome.sourceId : done.last
    }))
  )
  const missing = ids.length - outcomes.records_processed
  if (missing > 0) yield* Effect.logWarning(`${missing} dead letter(s) have no source document any more; left open`)
  const stats: BatchStats = {
    ...outcomes,
    duration_seconds: ((yield* Clock.currentTimeMillis) - startedMs) / 1000,
    last_processed_id: last,
    started_at: isoSeconds(new Date(startedMs))
  }
  return stats
})

/**
 * `dead-letters retry`: runs the selected open dead letters through the same pipeline as a
 * batch. A success writes the result and resolves the dead letter; a failure updates it.
 * The checkpoint is not touched.
 */
export const retryDeadLetters = Effect.fn("retryDeadLetters")(function*(selection: DeadLetterFilter) {
  const ids = yield* selectOpen(selection)
  const stats = yield* retryIds(ids)
  if (ids.length > 0) yield* Console.log(formatBatchResults(stats))
  return stats
})

/**
 * `dead-letters retry` while another instance runs the job: the selected dead letters are
 * marked, and the running instance retries them at the start of its next batch.
 */
export const requestDeadLetterRetry = Effect.fn("requestDeadLetterRetry")(function*(selection: DeadLetterFilter, holder: string) {
  const store = yield* ConversationStore
  const ids = yield* selectOpen(selection)
  if (ids.length === 0) return 0
  const marked = yield* storeOp(store.markRetryRequested(ids, isoSeconds(new Date(yield* Clock.currentTimeMillis))))
  yield* Console.log(
    `${marked} dead letter(s) marked for retry: the job is running in another instance (${holder}), which retries them at the start of its next batch`
  )
  return marked
})

/**
 * In a running job, before each batch: the dead letters a `dead-letters retry` marked for it.
 * The marks are cleared whatever the outcome (a failure updates the dead letter as usual).
 */
export const retryRequestedDeadLetters = Effect.fn("retryRequestedDeadLetters")(function*() {
  const store = yield* ConversationStore
  const requested = yield* storeOp(store.listDeadLetters({ status: "open", retryRequested: true }))
  if (requested.length === 0) return undefined
  const ids = requested.map((d) => d.source_object_id)
  yield* Effect.logInfo(`${ids.length} dead letter(s) were marked for retry by cpa dead-letters retry`)
  const stats = yield* retryIds(ids)
  yield* storeOp(store.markRetryRequested(ids, null))
  yield* Effect.logInfo(`retried ${stats.records_processed}: ${stats.records_persisted} resolved, ${stats.errors} failed again`)
  return stats
})
