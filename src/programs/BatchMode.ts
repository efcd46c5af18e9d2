import { Clock, Console, Duration, Effect, Metric, Stream } from "effect"
import { type AnalyzerError, type ModelOutputInvalid, type RecordError, RunFatal } from "../domain/Errors.ts"
import {
  type ApiBatch,
  type BatchModeState,
  type BatchStats,
  emptyBatchMode,
  emptyTotals,
  initialJobState,
  type JobState,
  type Requeued
} from "../domain/JobState.ts"
import { nextStreak, noStreak, REPEATED_ERROR_LIMIT, type Streak, streakStops } from "../domain/RepeatedErrors.ts"
import { ANALYSIS_VERSION } from "../domain/Result.ts"
import { decodeConversation, type SourceRecord } from "../domain/Source.ts"
import { BatchProvider, type BatchRequest, type BatchResultLine } from "../services/BatchProvider.ts"
import { ConversationStore } from "../services/ConversationStore.ts"
import { JobHealth } from "../services/JobHealth.ts"
import { JobStateStore } from "../services/JobStateStore.ts"
import * as Metrics from "../services/Metrics.ts"
import { Settings } from "../services/Settings.ts"
import { Shutdown } from "../services/Shutdown.ts"
import { addOutcome, addToTotals, errorReport, noOutcomes, type Outcome, type OutcomeTotals, resultOf } from "./Batch.ts"
import { formatBatchResults, formatRunTotals } from "./Reports.ts"
import { storeOp } from "./StoreOp.ts"

/**
 * Batch mode (`--llm-mode batch`): records go to Anthropic's Message Batches API instead of one
 * request each. One step = adopt or drop intents a crash left behind, poll the API batches in
 * flight, collect the ones that ended, submit what is due. Everything a step knows lives in
 * `job_state.batch_mode`, so any step can be the first after a crash or a SIGTERM.
 *
 * Crash safety: the intent of an API batch (its records, model, rubric version, time) is saved
 * before `create`, its id after. The API has no idempotency key, so an intent without an id is
 * settled on the next start by the adoption rule: list the batches created since the intent
 * (minus `ADOPT_SKEW_MS` for clock skew) that are not already known to this job and whose
 * request count equals the intent's; the earliest such batch is the one the crash created and
 * is adopted; when there is none, `create` never reached the API and the intent is dropped (its
 * records are submitted again). Only one instance holds the lease, so no other batch of this
 * job can match.
 */

/**
 * The API takes up to 100,000 requests or 256 MB a batch. A submit holds one chunk of built
 * requests until it is uploaded; the adapter streams the upload and serializes the part every
 * request shares (the rubric, the tool) once, so a chunk costs memory for its conversations
 * only. 32 MB is ~1,100 requests at the measured median of ~30 KB (rationales on).
 */
export const API_BATCH_MAX_REQUESTS = 10_000
export const API_BATCH_MAX_BYTES = 32 * 1024 * 1024
/** Open dead letters after the checkpoint looked up once; past this, every success tries to resolve one. */
const OPEN_DEAD_LETTER_CAP = 10_000
/** Clock skew allowed between this host and the API when matching a batch to an intent. */
export const ADOPT_SKEW_MS = 10 * 60_000
/** Results decoded against their source documents this many at a time. */
const COLLECT_CHUNK = 200

const minId = (a: string | null | undefined, b: string | null | undefined): string | null | undefined =>
  a === undefined ? b : b === undefined ? a : a === null || b === null ? null : a < b ? a : b

/**
 * The checkpoint: everything up to it is final. An API batch not yet collected holds it before
 * its first record; a record back in the queue holds it before the batch it was first read in.
 */
export const batchModeCheckpoint = (mode: BatchModeState, previous: string | null): string | null => {
  let low: string | null | undefined = undefined
  for (const b of mode.batches) {
    if (b.status === "collected") continue
    if (b.kind === "range") low = minId(low, b.after)
    for (const r of b.ids) low = minId(low, r.after)
  }
  for (const r of mode.requeue) low = minId(low, r.after)
  const through = mode.submitted_through ?? previous
  if (low === undefined) return through
  // `low` is the id a read started after: everything up to it was final then.
  return low === null ? null : previous !== null && previous > low ? previous : low
}

/** Test-only: `CPA_TEST_CRASH_AT=after-intent|after-create` kills the process there (crash tests). */
const crashHook = (point: "after-intent" | "after-create") =>
  Effect.sync(() => {
    if (process.env.CPA_TEST_CRASH_AT === point) process.kill(process.pid, "SIGKILL")
  })

const total = (c: ApiBatch["counts"]) => c.processing + c.succeeded + c.errored + c.canceled + c.expired
const zeroCounts: ApiBatch["counts"] = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 }
const countsText = (c: ApiBatch["counts"]) =>
  `processing ${c.processing}, succeeded ${c.succeeded}, errored ${c.errored}, canceled ${c.canceled}, expired ${c.expired}`

export interface StepReport {
  readonly totals: OutcomeTotals
  /** Requests submitted in this step. */
  readonly submitted: number
  /** API batches still in flight after the step. */
  readonly inFlight: number
  readonly checkpoint: string | null
}

const errorKey = (e: AnalyzerError | ModelOutputInvalid): string =>
  e._tag === "AnalyzerError" ? `${e._tag}:${e.reason}:${e.status ?? ""}:${e.message}` : `${e._tag}:${e.field}`

/** One step of batch mode under the job's lease. */
export const stepBatchMode = Effect.fn("stepBatchMode")(function*(
  options: {
    /** `always`: when nothing is in flight after collecting; `if-idle`: only when nothing was in flight before the step (--single-batch's first step). */
    readonly submit: "always" | "if-idle" | "never"
  } = { submit: "always" }
) {
  const settings = yield* Settings
  const store = yield* ConversationStore
  const jobs = yield* JobStateStore
  const provider = yield* BatchProvider
  const shutdown = yield* Shutdown
  const clock = yield* Clock.Clock
  const nowIso = () => new Date(clock.currentTimeMillisUnsafe()).toISOString()
  const startedMs = clock.currentTimeMillisUnsafe()

  const previous = (yield* storeOp(jobs.load(settings.jobName))) ?? initialJobState(settings.jobName, new Date(startedMs))
  const iteration = previous.data.iteration + 1
  let mode: BatchModeState = previous.batch_mode ?? emptyBatchMode
  let state: JobState = { ...previous, status: "running", last_updated: nowIso(), data: { ...previous.data, iteration } }
  let totals = noOutcomes
  let submitted = 0
  const save = (status: JobState["status"] = "running") =>
    Effect.suspend(() => {
      state = {
        ...state,
        status,
        batch_mode: mode,
        last_processed_object_id: batchModeCheckpoint(mode, previous.last_processed_object_id),
        last_updated: nowIso()
      }
      return storeOp(jobs.save(state))
    })
  const replace = (old: ApiBatch, next: ApiBatch | undefined) => {
    mode = { ...mode, batches: next === undefined ? mode.batches.filter((b) => b !== old) : mode.batches.map((b) => (b === old ? next : b)) }
  }
  const known = () => new Set([...mode.settled, ...mode.batches.flatMap((b) => (b.batch_id === null ? [] : [b.batch_id]))])
  const failProvider = (what: string) => (e: AnalyzerError) => new RunFatal({ message: `Message Batches API: ${what}: ${e.message}` })

  // 1. Intents a crash left without a batch id: adopt the batch the crash created, or drop them.
  for (const b of mode.batches.filter((x) => x.status === "intent")) {
    const since = new Date(Date.parse(b.intent_at) - ADOPT_SKEW_MS).toISOString()
    const listed = yield* provider.list({ createdAfter: since }).pipe(Effect.mapError(failProvider("list")))
    const ids = known()
    const match = listed
      .filter((x) => x.createdAt >= since && !ids.has(x.id) && total(x.counts) === b.count)
      .sort((x, y) => (x.createdAt < y.createdAt ? -1 : 1))[0]
    if (match !== undefined) {
      yield* Effect.logWarning(`adopted Message Batch ${match.id}: created for the intent of ${b.intent_at} (${b.count} requests) before a crash`)
      replace(b, { ...b, batch_id: match.id, created_at: match.createdAt, status: match.status, counts: match.counts })
    } else {
      yield* Effect.logWarning(`intent of ${b.intent_at} (${b.count} requests) has no Message Batch: it was never created; its records go back into the queue`)
      replace(b, undefined)
      mode = {
        ...mode,
        requeue: [...b.ids, ...mode.requeue],
        submitted_through: b.kind === "range" ? b.after : mode.submitted_through
      }
    }
    yield* save()
  }

  // Nothing in flight once the intents are settled (a dropped intent was never sent).
  const idleAtStart = mode.batches.length === 0

  // 2. Poll the batches in flight.
  for (const b of mode.batches.filter((x) => x.status === "in_progress" || x.status === "canceling")) {
    const info = yield* provider.retrieve(b.batch_id!).pipe(Effect.mapError(failProvider(`retrieve ${b.batch_id}`)))
    replace(b, { ...b, status: info.status, counts: info.counts })
    yield* Effect.logInfo(`Message Batch ${info.id}: ${info.status}; ${countsText(info.counts)}`)
    for (const [status, n] of Object.entries(info.counts)) yield* Metric.update(Metric.withAttributes(Metrics.batchRequests, { status }), n)
  }
  mode = { ...mode, last_polled_at: nowIso() }
  yield* save()

  // 3. Collect the batches that ended. Only records with an open dead letter (a re-run after
  // --reset-state) need one resolved when they succeed.
  const ending = mode.batches.filter((x) => x.status === "ended")
  const openDeadLetters = ending.length === 0 ? [] : yield* storeOp(store.listDeadLetters({
    status: "open",
    afterId: previous.last_processed_object_id ?? undefined,
    limit: OPEN_DEAD_LETTER_CAP
  }))
  const openIds = new Set(openDeadLetters.map((d) => d.source_object_id))
  const mayHaveDeadLetter = (id: string) => openDeadLetters.length >= OPEN_DEAD_LETTER_CAP || openIds.has(id)
  for (const b of ending) {
    const collected = yield* collect(b)
    totals = sumTotals(totals, collected.totals)
    replace(b, { ...b, status: "collected" })
    mode = {
      ...mode,
      requeue: [...mode.requeue, ...collected.requeue],
      batches: mode.batches.filter((x) => x.status !== "collected"),
      settled: [...mode.settled, b.batch_id!].slice(-50)
    }
    yield* save()
    yield* Effect.logInfo(
      `Message Batch ${b.batch_id} collected: ${collected.totals.records_persisted} persisted, ${collected.totals.errors} dead-lettered, ${collected.requeue.length} back in the queue`
    )
  }

  // 4. Submit what is due, when nothing is in flight.
  const due = options.submit === "always" || (options.submit === "if-idle" && idleAtStart)
  if (due && mode.batches.length === 0 && !(yield* shutdown.isRequested)) {
    submitted = yield* submit()
  }

  const inFlight = mode.batches.length
  const stats: BatchStats = {
    ...totals,
    duration_seconds: Math.round(clock.currentTimeMillisUnsafe() - startedMs) / 1000,
    last_processed_id: batchModeCheckpoint(mode, previous.last_processed_object_id),
    started_at: new Date(startedMs).toISOString()
  }
  state = {
    ...state,
    data: {
      iteration,
      batch_stats: stats,
      total_stats: totals.records_processed > 0 ? addToTotals(previous.data.total_stats ?? emptyTotals, stats) : previous.data.total_stats
    }
  }
  // "running" while API batches are in flight: the job has work outstanding on Anthropic's side.
  yield* save((yield* shutdown.isRequested) ? "stopped" : inFlight > 0 ? "running" : "completed")
  return { totals, submitted, inFlight, checkpoint: state.last_processed_object_id, stats } satisfies StepReport & { stats: BatchStats }

  // ---------------------------------------------------------------------------------------------

  function sumTotals(a: OutcomeTotals, b: OutcomeTotals): OutcomeTotals {
    return {
      records_processed: a.records_processed + b.records_processed,
      records_analyzed: a.records_analyzed + b.records_analyzed,
      records_persisted: a.records_persisted + b.records_persisted,
      errors: a.errors + b.errors,
      usage: {
        input_tokens: a.usage.input_tokens + b.usage.input_tokens,
        output_tokens: a.usage.output_tokens + b.usage.output_tokens,
        cache_creation_input_tokens: a.usage.cache_creation_input_tokens + b.usage.cache_creation_input_tokens,
        cache_read_input_tokens: a.usage.cache_read_input_tokens + b.usage.cache_read_input_tokens
      },
      estimated_cost_usd: a.estimated_cost_usd + b.estimated_cost_usd
    }
  }

  /** `batchId`: the failure came in that Message Batch's results, which a crash can make us collect again. */
  function deadLetter(id: string, error: RecordError, attempts: number, batchId?: string) {
    return Effect.gen(function*() {
      yield* Effect.logWarning(`dead-lettered after ${attempts} attempt(s): ${error._tag}: ${error.message}`).pipe(Effect.annotateLogs({ record: id }))
      yield* storeOp(store.upsertDeadLetter({
        source_object_id: id,
        job_name: settings.jobName,
        analysis_version: ANALYSIS_VERSION,
        error: errorReport(error, attempts),
        failed_at: nowIso(),
        ...(batchId !== undefined ? { occurrence: `message-batch:${batchId}` } : {})
      }))
      yield* Metric.update(Metrics.recordsDeadLettered, 1)
      return { _tag: "DeadLettered", sourceId: id } satisfies Outcome
    })
  }

  /** Streams one ended batch's results; each record ends persisted, dead-lettered or requeued. */
  function collect(b: ApiBatch) {
    return Effect.gen(function*() {
      let sums = noOutcomes
      const requeue: Array<Requeued> = []
      let streak: Streak = noStreak
      const toStore: Array<Effect.Effect<void, RunFatal>> = []
      const attemptsOf = new Map(b.ids.map((r) => [r.id, r]))
      const entryOf = (id: string): Requeued => attemptsOf.get(id) ?? { id, attempts: 0, after: b.after }
      // A failure found in this batch's results: collecting it again after a crash folds it in once.
      const deadLetterHere = (id: string, error: RecordError, attempts: number) => deadLetter(id, error, attempts, b.batch_id!)
      const retryOrDeadLetter = (id: string, error: AnalyzerError | ModelOutputInvalid) => {
        const entry = entryOf(id)
        const attempts = entry.attempts + 1
        if (attempts > settings.retry.maxRetries) return deadLetterHere(id, error, attempts).pipe(Effect.map((o) => o as Outcome | undefined))
        requeue.push({ ...entry, attempts })
        return Effect.succeed<Outcome | undefined>(undefined)
      }
      const handle = (line: BatchResultLine, record: SourceRecord | undefined): Effect.Effect<Outcome | undefined, RunFatal> =>
        Effect.gen(function*() {
          const id = line.customId
          if (record === undefined) {
            yield* Effect.logWarning(`result for ${id}: the source document is gone; skipped`)
            return undefined
          }
          if (line._tag === "canceled" || line._tag === "expired") {
            requeue.push(entryOf(id))
            streak = noStreak
            return undefined
          }
          const decoded = yield* Effect.result(decodeConversation(record))
          if (decoded._tag === "Failure") return yield* deadLetterHere(id, decoded.failure, 1)
          const conversation = decoded.success
          if (line._tag === "errored") {
            const error = line.error
            if (error.severity === "fatal") return yield* new RunFatal({ message: `Message Batches API: ${error.message}`, sourceId: id })
            if (error.severity === "retriable") {
              streak = noStreak
              return yield* retryOrDeadLetter(id, error)
            }
            streak = nextStreak(streak, errorKey(error))
            if (streakStops(streak)) {
              return yield* new RunFatal({
                message: `${REPEATED_ERROR_LIMIT} identical non-retriable errors in a row in Message Batch ${b.batch_id}: ${error.message}`,
                sourceId: id
              })
            }
            return yield* deadLetterHere(id, error, entryOf(id).attempts + 1)
          }
          const analysis = yield* Effect.result(provider.decode(line.message, conversation))
          if (analysis._tag === "Failure") {
            streak = noStreak
            const error = analysis.failure
            // An answer cut at max_tokens or a refusal would repeat: a dead letter at once.
            if (error._tag === "AnalyzerError" && !error.isRetryable) return yield* deadLetterHere(id, error, entryOf(id).attempts + 1)
            return yield* retryOrDeadLetter(id, error)
          }
          streak = noStreak
          const { evidenceDropped, usage } = analysis.success
          const { cost, result } = resultOf(settings, conversation, analysis.success, new Date(clock.currentTimeMillisUnsafe()), "batch")
          // Stored with the rest of its group (one bulk write), before the group counts.
          toStore.push(
            storeOp(store.upsertResult(result)).pipe(
              Effect.andThen(mayHaveDeadLetter(id) ? storeOp(store.resolveDeadLetter(id, result.analysis_metadata.processed_timestamp)) : Effect.void)
            )
          )
          return { _tag: "Persisted", sourceId: id, usage, cost: cost ?? 0 } satisfies Outcome
        })

      yield* provider.results(b.batch_id!).pipe(
        Stream.mapError(failProvider(`results of ${b.batch_id} (collected again on the next step)`)),
        Stream.grouped(COLLECT_CHUNK),
        Stream.runForEach((lines) =>
          Effect.gen(function*() {
            const records = new Map<string, SourceRecord>()
            yield* store.readByIds(lines.map((l) => l.customId)).pipe(
              Stream.runForEach((r) => Effect.sync(() => records.set(r.id, r))),
              storeOp
            )
            // Decided in order (the streak of identical errors is a sequence), stored together:
            // concurrent upserts of a group go to MongoDB as one bulk write.
            const outcomes: Array<Outcome> = []
            for (const line of lines) {
              const outcome = yield* handle(line, records.get(line.customId))
              if (outcome !== undefined) outcomes.push(outcome)
            }
            yield* Effect.all(toStore.splice(0), { concurrency: "unbounded", discard: true })
            for (const outcome of outcomes) {
              sums = addOutcome(sums, outcome)
              if (outcome._tag === "Persisted") {
                yield* Metric.update(Metrics.recordsAnalyzed, 1)
                yield* Metric.update(Metrics.recordsPersisted, 1)
              }
              yield* Metric.update(Metrics.recordsProcessed, 1)
            }
          })
        )
      )
      return { totals: sums, requeue }
    })
  }

  /**
   * Takes the records due (those back in the queue first, then the ones after the last
   * submitted id), dead-letters the invalid ones, and sends the rest a chunk at a time: intent
   * saved, batch created, id saved.
   */
  function submit() {
    return Effect.gen(function*() {
      let sent = 0
      let chunk: Array<BatchRequest> = []
      let chunkBytes = 0
      let chunkRead = 0
      let chunkAfter: string | null = mode.submitted_through ?? previous.last_processed_object_id
      let chunkLast: string | null = null
      let chunkIds: Array<Requeued> = []

      const flush = (kind: ApiBatch["kind"]) =>
        Effect.gen(function*() {
          if (chunkRead === 0 && chunkIds.length === 0) return
          if (chunk.length === 0) {
            // Only invalid records: all final already.
            if (kind === "range") mode = { ...mode, submitted_through: chunkLast }
          } else {
            const intent: ApiBatch = {
              intent_at: nowIso(),
              kind,
              after: kind === "range" ? chunkAfter : null,
              first_id: chunk[0]!.customId,
              last_id: kind === "range" ? chunkLast : chunk[chunk.length - 1]!.customId,
              read: chunkRead,
              count: chunk.length,
              ids: chunkIds,
              model: provider.model,
              rubric_version: ANALYSIS_VERSION,
              batch_id: null,
              created_at: null,
              status: "intent",
              counts: zeroCounts
            }
            mode = {
              ...mode,
              batches: [...mode.batches, intent],
              submitted_through: kind === "range" ? chunkLast : mode.submitted_through
            }
            yield* save()
            yield* crashHook("after-intent")
            const info = yield* provider.create(chunk).pipe(Effect.mapError(failProvider(`create (${chunk.length} requests)`)))
            yield* crashHook("after-create")
            replace(intent, { ...intent, batch_id: info.id, created_at: info.createdAt, status: info.status, counts: info.counts })
            yield* save()
            yield* Effect.logInfo(`Message Batch ${info.id} created: ${chunk.length} requests, ${(chunkBytes / 1e6).toFixed(1)} MB`)
            sent += chunk.length
          }
          chunkAfter = chunkLast
          chunk = []
          chunkBytes = 0
          chunkRead = 0
          chunkIds = []
        })

      const take = (record: SourceRecord, kind: ApiBatch["kind"], entry?: Requeued) =>
        Effect.gen(function*() {
          const decoded = yield* Effect.result(decodeConversation(record))
          if (decoded._tag === "Failure") {
            chunkRead++
            chunkLast = record.id
            yield* deadLetter(record.id, decoded.failure, 1).pipe(
              Effect.tap((o) => Effect.sync(() => (totals = addOutcome(totals, o))))
            )
            return
          }
          const request = provider.buildRequest(decoded.success)
          if (chunk.length >= API_BATCH_MAX_REQUESTS || chunkBytes + request.bytes > API_BATCH_MAX_BYTES) yield* flush(kind)
          chunk.push(request)
          chunkBytes += request.bytes
          chunkRead++
          chunkLast = record.id
          if (entry !== undefined) chunkIds.push(entry)
        })

      // Records back in the queue first, as batches of explicit ids.
      const due = mode.requeue.slice(0, settings.batchSize)
      if (due.length > 0) {
        mode = { ...mode, requeue: mode.requeue.slice(due.length) }
        const byId = new Map(due.map((r) => [r.id, r]))
        yield* store.readByIds(due.map((r) => r.id)).pipe(
          Stream.mapError((e) => new RunFatal({ message: `MongoDB read failed (${e.reason}): ${e.message}` })),
          Stream.runForEach((record) => take(record, "ids", byId.get(record.id)))
        )
        yield* flush("ids")
      }
      const room = settings.batchSize - due.length
      if (room > 0) {
        chunkAfter = mode.submitted_through ?? previous.last_processed_object_id
        yield* store.readAfter(chunkAfter, room).pipe(
          Stream.mapError((e) => new RunFatal({ message: `MongoDB read failed (${e.reason}): ${e.message}` })),
          Stream.runForEach((record) => take(record, "range"))
        )
        yield* flush("range")
      }
      yield* save()
      return sent
    })
  }
})

/**
 * Batch mode's loop. `single`: submit (or adopt what is in flight), poll until every API batch
 * ended, collect, print BATCH RESULTS. Otherwise one step per iteration: the next after the
 * poll interval while a batch is in flight, else after the interval (at once after a full
 * submit). A stop request ends the wait; batches in flight keep running on Anthropic's side.
 */
export const runBatchMode = Effect.fn("runBatchMode")(function*(options: { readonly single: boolean }) {
  const settings = yield* Settings
  const shutdown = yield* Shutdown
  const health = yield* JobHealth
  const clock = yield* Clock.Clock
  const startedMs = clock.currentTimeMillisUnsafe()
  const pollMinutes = settings.pollInterval ?? settings.interval
  let run = noOutcomes
  let last: string | null = null
  let steps = 0
  const wait = (minutes: number) => Effect.raceFirst(Effect.sleep(Duration.minutes(minutes)), shutdown.await)
  const runStats = (): BatchStats => ({
    ...run,
    duration_seconds: Math.round(clock.currentTimeMillisUnsafe() - startedMs) / 1000,
    last_processed_id: last,
    started_at: new Date(startedMs).toISOString()
  })
  while (true) {
    // --single-batch submits only when nothing was in flight (else it adopts what is), and
    // only in its first step: later steps poll and collect.
    const step = yield* stepBatchMode({ submit: !options.single ? "always" : steps === 0 ? "if-idle" : "never" }).pipe(
      Effect.tapError((e) => health.batchFailed(e.message))
    )
    yield* health.batchSucceeded
    yield* Metric.update(Metrics.lastSuccessfulBatch, clock.currentTimeMillisUnsafe() / 1000)
    steps++
    run = {
      records_processed: run.records_processed + step.totals.records_processed,
      records_analyzed: run.records_analyzed + step.totals.records_analyzed,
      records_persisted: run.records_persisted + step.totals.records_persisted,
      errors: run.errors + step.totals.errors,
      usage: {
        input_tokens: run.usage.input_tokens + step.totals.usage.input_tokens,
        output_tokens: run.usage.output_tokens + step.totals.usage.output_tokens,
        cache_creation_input_tokens: run.usage.cache_creation_input_tokens + step.totals.usage.cache_creation_input_tokens,
        cache_read_input_tokens: run.usage.cache_read_input_tokens + step.totals.usage.cache_read_input_tokens
      },
      estimated_cost_usd: run.estimated_cost_usd + step.totals.estimated_cost_usd
    }
    last = step.checkpoint
    if (yield* shutdown.isRequested) {
      if (step.inFlight > 0) yield* Effect.logInfo(`stopping: ${step.inFlight} Message Batch(es) left running on Anthropic's side; the next start collects them`)
      break
    }
    if (options.single) {
      if (step.inFlight === 0) break
      yield* wait(pollMinutes)
      continue
    }
    if (step.totals.records_processed > 0) yield* Console.log(formatBatchResults(step.stats, `BATCH RESULTS (step ${steps})`))
    if (settings.maxIterations !== undefined && steps >= settings.maxIterations) break
    yield* wait(step.inFlight > 0 ? pollMinutes : settings.interval)
    if (yield* shutdown.isRequested) break
  }
  const stats = runStats()
  if (options.single) yield* Console.log(formatBatchResults(stats))
  else yield* Console.log(formatRunTotals({ ...emptyTotals, ...run, batches: steps, duration_seconds: stats.duration_seconds }, last))
  return stats
})
