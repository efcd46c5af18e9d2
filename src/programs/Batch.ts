import { Clock, Effect, LogLevel, Metric, Ref, References, Stream } from "effect"
import { isoSeconds } from "../domain/Text.ts"
import { CheckpointTracker } from "../domain/Checkpoint.ts"
import { estimateCost } from "../domain/Cost.ts"
import type { ErrorReport } from "../domain/DeadLetter.ts"
import { type RecordError, RunFatal } from "../domain/Errors.ts"
import { type BatchStats, emptyTotals, initialJobState, type JobState, type TotalStats } from "../domain/JobState.ts"
import { addUsage, emptyUsage, type Usage } from "../domain/Kpi.ts"
import { ANALYSIS_VERSION, buildResult } from "../domain/Result.ts"
import { type Conversation, decodeConversation, type SourceRecord } from "../domain/Source.ts"
import { type Analysis, Analyzer } from "../services/Analyzer.ts"
import { BacklogGauge } from "../services/BacklogGauge.ts"
import { ConversationStore } from "../services/ConversationStore.ts"
import { JobHealth } from "../services/JobHealth.ts"
import { JobStateStore } from "../services/JobStateStore.ts"
import { Settings } from "../services/Settings.ts"
import { Shutdown } from "../services/Shutdown.ts"
import * as Metrics from "../services/Metrics.ts"
import { withRetry } from "./Retry.ts"
import { storeOp, storeOpOnce } from "./StoreOp.ts"

const OPEN_DEAD_LETTER_CAP = 10_000

export const errorReport = (error: RecordError, attempts: number): ErrorReport => ({
  tag: error._tag,
  reason: error._tag === "AnalyzerError" ? error.reason : null,
  message: error.message,
  retriable: error.isRetryable,
  http_status: error._tag === "AnalyzerError" ? error.status ?? null : null,
  field: error._tag === "AnalyzerError" ? null : error.field,
  attempts
})

/** How one record ended: its result stored (with the model's usage and cost), or a dead letter. */
export type Outcome =
  | { readonly _tag: "Persisted"; readonly sourceId: string; readonly usage: Usage | undefined; readonly cost: number }
  | { readonly _tag: "DeadLettered"; readonly sourceId: string }

/** The part of a batch's statistics that its records' outcomes add up to. */
export type OutcomeTotals = Pick<
  BatchStats,
  "records_processed" | "records_analyzed" | "records_persisted" | "errors" | "usage" | "estimated_cost_usd"
>

export const noOutcomes: OutcomeTotals = {
  records_processed: 0,
  records_analyzed: 0,
  records_persisted: 0,
  errors: 0,
  usage: emptyUsage,
  estimated_cost_usd: 0
}

/** Folds one record's outcome into the totals. A record is counted as analyzed once its result is stored. */
export const addOutcome = (totals: OutcomeTotals, outcome: Outcome): OutcomeTotals =>
  outcome._tag === "DeadLettered"
    ? { ...totals, records_processed: totals.records_processed + 1, errors: totals.errors + 1 }
    : {
      ...totals,
      records_processed: totals.records_processed + 1,
      records_analyzed: totals.records_analyzed + 1,
      records_persisted: totals.records_persisted + 1,
      usage: outcome.usage === undefined ? totals.usage : addUsage(totals.usage, outcome.usage),
      estimated_cost_usd: totals.estimated_cost_usd + outcome.cost
    }

/**
 * `processRecord` for the services of the run, looked up once rather than per record.
 *
 * processRecord runs one record through decode, analysis (with retries) and persistence. It
 * ends in a stored result or a dead letter, which it returns, and fails only with a run-fatal
 * error. It runs for every record, so it is untraced and only its failure paths log, naming
 * the record themselves.
 */
/**
 * The result document of an analysis and its estimated cost: the one place a mode's billing
 * (`batch`: half price, one-hour cache writes) reaches the stored result.
 */
export const resultOf = (
  settings: Settings["Service"],
  conversation: Conversation,
  analysis: Analysis,
  processedAt: Date,
  mode: "online" | "batch"
) => {
  const { evidenceDropped, model, rationale, scores, usage } = analysis
  const billing = mode === "batch" ? { batch: true, cacheTtl: "1h" } as const : {}
  const cost = usage !== undefined ? estimateCost(model, usage, settings.llmOptions.prices, billing) : undefined
  const result = buildResult(conversation, scores, settings.agent.weights, {
    model,
    usage,
    costUsd: cost,
    processedAt,
    jobName: settings.jobName,
    rationale,
    evidenceDropped,
    ...(mode === "batch" ? { serviceTier: "batch" as const } : {})
  })
  return { cost, result }
}

export const makeProcessRecord = Effect.gen(function*() {
  const settings = yield* Settings
  const store = yield* ConversationStore
  const analyzer = yield* Analyzer
  const clock = yield* Clock.Clock
  // `--log-level debug` traces each record (decode, every attempt, tokens); decided once per
  // run so that the usual level pays nothing for it.
  const debug = LogLevel.isGreaterThanOrEqualTo("Debug", yield* References.MinimumLogLevel)
  // The stop rule for systemic errors: the same non-retriable provider error (status and
  // type) on K requests in a row, with no success between them (in completion order).
  const limit = settings.llmOptions.stopAfterSameErrors
  let streak: { signature: string; count: number } | undefined
  return Effect.fnUntraced(function*(
    record: SourceRecord,
    /** False when the record is known to have no open dead letter (saves a write per record). */
    mayHaveDeadLetter: (id: string) => boolean
  ): Effect.fn.Return<Outcome, RunFatal> {
    const annotate = <A, E>(effect: Effect.Effect<A, E>) => Effect.annotateLogs(effect, { record: record.id })

    const deadLetter = (error: RecordError, attempts: number) =>
      Effect.gen(function*() {
        yield* Effect.logWarning(`dead-lettered after ${attempts} attempt(s): ${error._tag}: ${error.message}`)
        yield* storeOp(store.upsertDeadLetter({
          source_object_id: record.id,
          job_name: settings.jobName,
          analysis_version: ANALYSIS_VERSION,
          error: errorReport(error, attempts),
          failed_at: isoSeconds(new Date(clock.currentTimeMillisUnsafe()))
        }))
        yield* Metric.update(Metrics.recordsDeadLettered, 1)
        return { _tag: "DeadLettered", sourceId: record.id } satisfies Outcome
      }).pipe(annotate)

    const decoded = yield* Effect.result(decodeConversation(record))
    if (decoded._tag === "Failure") return yield* deadLetter(decoded.failure, 1)
    const conversation = decoded.success
    if (debug) yield* annotate(Effect.logDebug(`decoded: ${conversation.messages.length} message(s)`))

    // One attempt, its latency measured when it succeeds.
    let attempts = 0
    const attempt = Effect.suspend(() => {
      const start = clock.monotonicTimeNanosUnsafe()
      const n = ++attempts
      const ms = () => Math.round(Number(clock.monotonicTimeNanosUnsafe() - start) / 1e6)
      const analyzed = Effect.tap(
        analyzer.analyze(conversation),
        () => Metric.update(Metrics.analyzerLatency, Number(clock.monotonicTimeNanosUnsafe() - start) / 1e9)
      )
      return debug
        ? analyzed.pipe(
          Effect.tap((a) =>
            annotate(Effect.logDebug(`attempt ${n}: ok in ${ms()} ms, model ${a.model}${a.usage === undefined ? "" : `, ${describeUsage(a.usage)}`}`))
          ),
          Effect.tapError((e) =>
            annotate(Effect.logDebug(
              `attempt ${n}: ${e._tag}${e._tag === "AnalyzerError" ? `/${e.reason}${e.status !== undefined ? ` (HTTP ${e.status})` : ""}` : ""} in ${ms()} ms: ${e.message}`
            ))
          )
        )
        : analyzed
    })
    const analysis = yield* withRetry(
      attempt,
      settings.retry,
      (error, n) => annotate(Effect.logInfo(`attempt ${n} failed (${error._tag}: ${error.message}); retrying`))
    ).pipe(Effect.result)
    if (analysis._tag === "Failure") {
      const { attempts, error } = analysis.failure
      if (error.severity === "fatal") {
        return yield* new RunFatal({ message: `${analyzer.provider}: ${error.message}`, sourceId: record.id })
      }
      if (error._tag === "AnalyzerError" && error.isOutage) {
        // Nothing is wrong with the record: the batch stops before it and a later one retries it.
        return yield* new RunFatal({
          message: `${analyzer.provider}: still failing after ${attempts} attempt(s), the batch stops and the record is retried later: ${error.message}`,
          sourceId: record.id,
          transient: true
        })
      }
      if (error._tag === "AnalyzerError") {
        const signature = error.signature
        const count = streak?.signature === signature ? streak.count + 1 : 1
        streak = { signature, count }
        // Requests already in flight when the K-th failed: not dead-lettered, the run stops.
        if (count > limit) return yield* new RunFatal({ message: `${analyzer.provider}: ${error.message}`, sourceId: record.id })
        const outcome = yield* deadLetter(error, attempts)
        if (count === limit) {
          return yield* new RunFatal({
            message: `${analyzer.provider}: the same error on ${limit} requests in a row (${error.message}); ` +
              "this is the model or the request, not the records: fix it, then `cpa dead-letters retry` brings the dead-lettered records back",
            sourceId: record.id
          })
        }
        return outcome
      }
      return yield* deadLetter(error, attempts)
    }
    streak = undefined
    const { evidenceDropped, usage } = analysis.success
    yield* Metric.update(Metrics.recordsAnalyzed, 1)
    const { cost, result } = resultOf(settings, conversation, analysis.success, new Date(clock.currentTimeMillisUnsafe()), "online")
    if (evidenceDropped !== undefined && evidenceDropped > 0) yield* Metric.update(Metrics.evidenceDropped, evidenceDropped)
    yield* storeOp(store.upsertResult(result))
    yield* Metric.update(Metrics.recordsPersisted, 1)
    if (mayHaveDeadLetter(record.id)) {
      yield* storeOp(store.resolveDeadLetter(record.id, result.analysis_metadata.processed_timestamp))
    }
    if (debug) yield* annotate(Effect.logDebug(`stored${cost !== undefined ? `, estimated cost $${cost.toFixed(5)}` : ""}`))
    if (usage !== undefined) {
      yield* Metric.update(Metrics.tokensIn, usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens)
      yield* Metric.update(Metrics.tokensOut, usage.output_tokens)
    }
    return { _tag: "Persisted", sourceId: record.id, usage, cost: cost ?? 0 } satisfies Outcome
  })
})

const describeUsage = (u: Usage): string =>
  `tokens in ${u.input_tokens}, out ${u.output_tokens}, cache write ${u.cache_creation_input_tokens}, cache read ${u.cache_read_input_tokens}`

export const addToTotals = (totals: TotalStats, b: BatchStats): TotalStats => ({
  batches: totals.batches + 1,
  records_processed: totals.records_processed + b.records_processed,
  records_analyzed: totals.records_analyzed + b.records_analyzed,
  records_persisted: totals.records_persisted + b.records_persisted,
  errors: totals.errors + b.errors,
  duration_seconds: Math.round((totals.duration_seconds + b.duration_seconds) * 1000) / 1000,
  usage: addUsage(totals.usage, b.usage),
  estimated_cost_usd: totals.estimated_cost_usd + b.estimated_cost_usd
})

/**
 * One batch: up to `batchSize` source records after the checkpoint, analyzed with bounded
 * concurrency, each persisted as it completes. The checkpoint is saved as the batch goes:
 * always the highest id below which every record is finished. A run-fatal error stops the
 * batch with status `failed` and the checkpoint before the failed record.
 */
export const runBatch = Effect.fn("runBatch")(function*() {
  const settings = yield* Settings
  const store = yield* ConversationStore
  const jobs = yield* JobStateStore
  const shutdown = yield* Shutdown
  const health = yield* JobHealth
  const backlog = yield* BacklogGauge
  const clock = yield* Clock.Clock
  const startedMs = clock.currentTimeMillisUnsafe()
  const startedAt = isoSeconds(new Date(startedMs))

  const previous = (yield* storeOp(jobs.load(settings.jobName))) ?? initialJobState(settings.jobName, new Date(startedMs))
  const iteration = previous.data.iteration + 1
  yield* Effect.annotateLogsScoped({ job: settings.jobName, iteration })
  const tracker = new CheckpointTracker(previous.last_processed_object_id)
  const totals = yield* Ref.make(noOutcomes)
  const processRecord = yield* makeProcessRecord

  // Records after the checkpoint with an open dead letter (a re-run after --reset-state): only
  // those need resolving when they succeed. Past the cap, every success tries to resolve.
  const openDeadLetters = yield* storeOp(store.listDeadLetters({
    status: "open",
    afterId: previous.last_processed_object_id ?? undefined,
    limit: OPEN_DEAD_LETTER_CAP
  }))
  const mayHaveDeadLetter = openDeadLetters.length >= OPEN_DEAD_LETTER_CAP
    ? () => true
    : ((ids: ReadonlySet<string>) => (id: string) => ids.has(id))(new Set(openDeadLetters.map((d) => d.source_object_id)))

  let state: JobState = { ...previous, status: "running", last_updated: startedAt, data: { ...previous.data, iteration } }
  yield* storeOp(jobs.save(state))

  // Saves the checkpoint when it moved. Saves never overlap, so an older checkpoint can never
  // overwrite a newer one; completions that land during a save are folded into the next one.
  // (Untraced generators defined once: a flush can follow every record.)
  let saved = previous.last_processed_object_id
  let saving = false
  let dirty = false
  const saveCheckpoint = Effect.fnUntraced(function*(status: JobState["status"], once = false) {
    state = {
      ...state,
      status,
      last_processed_object_id: tracker.current,
      last_updated: isoSeconds(new Date(clock.currentTimeMillisUnsafe()))
    }
    yield* (once ? storeOpOnce : storeOp)(jobs.save(state))
    if (state.last_processed_object_id !== saved) yield* Effect.logDebug(`checkpoint saved: ${state.last_processed_object_id ?? "none"} (${status})`)
    saved = state.last_processed_object_id
  })
  const saveWhileMoved = Effect.fnUntraced(function*() {
    do {
      dirty = false
      if (tracker.current !== saved) yield* saveCheckpoint("running")
    } while (dirty)
  })
  const flush: Effect.Effect<void, RunFatal> = Effect.suspend(() => {
    if (saving) {
      dirty = true
      return Effect.void
    }
    saving = true
    return saveWhileMoved().pipe(Effect.ensuring(Effect.sync(() => (saving = false))))
  })

  const stats = (): Effect.Effect<BatchStats> =>
    Effect.all([Ref.get(totals), Clock.currentTimeMillis]).pipe(Effect.map(([outcomes, ms]): BatchStats => ({
      ...outcomes,
      duration_seconds: Math.round(ms - startedMs) / 1000,
      last_processed_id: tracker.current,
      started_at: startedAt
    })))

  const finish = (status: JobState["status"], once = false) =>
    Effect.gen(function*() {
      const batch = yield* stats()
      state = {
        ...state,
        data: { iteration, batch_stats: batch, total_stats: addToTotals(previous.data.total_stats ?? emptyTotals, batch) }
      }
      yield* saveCheckpoint(status, once)
      return batch
    })

  yield* Effect.logInfo(`batch ${iteration}: reading up to ${settings.batchSize} records after ${previous.last_processed_object_id ?? "the start"}`)

  const exit = yield* store.readAfter(previous.last_processed_object_id, settings.batchSize).pipe(
    Stream.mapError((error) => new RunFatal({ message: `MongoDB read failed (${error.reason}): ${error.message}` })),
    // After a stop request no new record is taken; the ones in flight finish.
    Stream.haltWhen(shutdown.await),
    // Registered in read order, a chunk at a time, before any of them can finish.
    Stream.mapArrayEffect((records) =>
      Effect.sync(() => {
        for (const record of records) tracker.register(record.id)
        return records
      })
    ),
    Stream.mapEffect(
      (record) =>
        // A stream chunk can hold the whole batch, so the request is checked per record too;
        // a record skipped here stays unfinished and the checkpoint stops before it.
        Effect.flatMap(shutdown.isRequested, (stopping) =>
          stopping ? Effect.void : processRecord(record, mayHaveDeadLetter).pipe(
            Effect.flatMap((outcome) => Ref.update(totals, (t) => addOutcome(t, outcome))),
            Effect.andThen(() =>
              Metric.update(Metrics.recordsProcessed, 1).pipe(
                Effect.andThen(tracker.finish(record.id) ? flush : Effect.void)
              )
            )
          )),
      { concurrency: settings.concurrency, unordered: true }
    ),
    Stream.runDrain,
    // Interrupted after a stop request whose grace period ran out: record what finished.
    // Any other interruption (the lease was lost to another instance) must not write: the
    // job state is no longer this instance's.
    Effect.onInterrupt(() =>
      Effect.flatMap(shutdown.isRequested, (stopping) =>
        stopping
          ? finish("stopped", true).pipe(
            Effect.tap(() => Effect.logWarning(`batch ${iteration} interrupted; checkpoint ${tracker.current ?? "none"} saved`))
          )
          : Effect.logWarning(`batch ${iteration} interrupted; job state left to the lease holder`)
      ).pipe(Effect.ignore)
    ),
    Effect.exit
  )

  if (exit._tag === "Failure") {
    yield* health.batchFailed(
      exit.cause.reasons.map((r) => (r._tag === "Fail" ? String((r.error as { message?: unknown }).message) : r._tag)).join("; ")
    )
    yield* finish("failed", true).pipe(Effect.ignore)
    return yield* Effect.failCause(exit.cause)
  }
  const batch = yield* finish((yield* shutdown.isRequested) ? "stopped" : "completed")
  if (batch.records_analyzed > 1 && batch.usage.input_tokens > 0 &&
    batch.usage.cache_read_input_tokens + batch.usage.cache_creation_input_tokens === 0) {
    yield* Effect.logWarning(
      "no prompt-cache reads or writes in this batch: the rubric prefix may be below the model's cache floor, so every request pays for it in full"
    )
  }
  yield* health.batchSucceeded
  yield* Metric.update(Metrics.batchDuration, batch.duration_seconds)
  yield* Metric.update(Metrics.lastSuccessfulBatch, (yield* Clock.currentTimeMillis) / 1000)
  // A batch that read fewer records than it asked for left no backlog; otherwise the count
  // runs in the background (it can take as long as a batch), and a failed one is only logged.
  if (state.status === "completed" && batch.records_processed < settings.batchSize) yield* backlog.set(0)
  else yield* backlog.refresh(store.backlog(batch.last_processed_id))
  yield* Effect.logInfo(
    `batch ${iteration} done: ${batch.records_processed} processed, ${batch.records_persisted} persisted, ${batch.errors} dead-lettered in ${batch.duration_seconds}s`
  )
  return batch
}, Effect.scoped)
