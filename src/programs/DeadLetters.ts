import { Clock, Console, Effect, Stream } from "effect"
import type { DeadLetter, DeadLetterFilter } from "../domain/DeadLetter.ts"
import { RunFatal } from "../domain/Errors.ts"
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

/** `dead-letters show <id>`: the full typed error report. */
export const showDeadLetter = Effect.fn("showDeadLetter")(function*(sourceId: string) {
  const store = yield* ConversationStore
  const [record] = yield* storeOp(store.listDeadLetters({ ids: [sourceId], limit: 1 }))
  if (record === undefined) {
    return yield* new RunFatal({ message: `no dead letter for source id ${sourceId}` })
  }
  yield* Console.log(JSON.stringify(record, null, 2))
  return record
})

/**
 * `dead-letters retry`: runs the selected open dead letters through the same pipeline as a
 * batch. A success writes the result and resolves the dead letter; a failure updates it.
 * The checkpoint is not touched.
 */
export const retryDeadLetters = Effect.fn("retryDeadLetters")(function*(selection: DeadLetterFilter) {
  const settings = yield* Settings
  const store = yield* ConversationStore
  const startedMs = yield* Clock.currentTimeMillis
  const open = yield* storeOp(store.listDeadLetters({ ...selection, status: "open" }))
  const ids = open.map((d) => d.source_object_id)
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
    started_at: new Date(startedMs).toISOString()
  }
  yield* Console.log(formatBatchResults(stats))
  return stats
})
