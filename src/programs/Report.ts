import type { AnalysisRationale } from "../domain/Rationale.ts"
import { Clock, Effect, Result, Stream } from "effect"
import {
  DIMENSIONS,
  type Dimension,
  type Format,
  FORMATS,
  type Report,
  REPORT_VERSION,
  type ReviewItem
} from "../domain/Report.ts"
import { dayString, MIN_PERIOD_SIZE, parseDay, type Period, PERIODS, periodsIn, resolveWindow } from "../domain/ReportStats.ts"
import { agentIds, type ResultRow } from "../domain/Result.ts"
import { decodeConversation } from "../domain/Source.ts"
import { truncate } from "../domain/Text.ts"
import { ConversationStore } from "../services/ConversationStore.ts"
import { JobStateStore } from "../services/JobStateStore.ts"
import { ReportHtml } from "../services/ReportHtml.ts"
import { Settings } from "../services/Settings.ts"
import {
  analyzedCount,
  breakdownOf,
  cellsOf,
  distributionsOf,
  type FoldResult,
  makeReportFold,
  modelCoverage,
  reportVersions,
  type ReviewCandidate,
  summaryOf,
  trendOf
} from "./ReportFold.ts"
import { formatReportCsv } from "./ReportCsv.ts"
import { formatReportJson } from "./ReportJson.ts"
import { formatReportText } from "./ReportText.ts"
import { storeOp } from "./StoreOp.ts"

export interface ReportOptions {
  readonly since: Date | undefined
  readonly until: Date | undefined
  readonly period: Period
  readonly dimension: Dimension
  readonly modelUsed: string | undefined
  readonly top: number
}

/** `cpa report` with no flags. */
export const DEFAULT_REPORT_OPTIONS: ReportOptions = {
  since: undefined,
  until: undefined,
  period: "week",
  dimension: "agent",
  modelUsed: undefined,
  top: 10
}

/** At most this many periods in a window (a day period over years would be unreadable). */
export const MAX_PERIODS = 400
export const MAX_TOP = 1000

/** The raw flag values of `cpa report`. */
export interface ReportInput {
  readonly since: string | undefined
  readonly until: string | undefined
  readonly period: string
  readonly by: string
  readonly modelUsed: string | undefined
  readonly format: string
  readonly top: number
}

/** Checks the flags; a failure is the one line that names the culprit (exit 2). */
export const parseReportInput = (input: ReportInput): Result.Result<ReportOptions & { readonly format: Format }, string> => {
  const oneOf = <A extends string>(flag: string, value: string, allowed: ReadonlyArray<A>): Result.Result<A, string> =>
    (allowed as ReadonlyArray<string>).includes(value)
      ? Result.succeed(value as A)
      : Result.fail(`--${flag}: expected one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`)
  const day = (flag: string, value: string | undefined): Result.Result<Date | undefined, string> => {
    if (value === undefined) return Result.succeed(undefined)
    const d = parseDay(value)
    return d === undefined
      ? Result.fail(`--${flag}: expected an ISO 8601 day (YYYY-MM-DD, UTC), got ${JSON.stringify(value)}`)
      : Result.succeed(d)
  }
  return Result.gen(function*() {
    const period = yield* oneOf("period", input.period, PERIODS)
    const dimension = yield* oneOf("by", input.by, DIMENSIONS)
    const format = yield* oneOf("format", input.format, FORMATS)
    const since = yield* day("since", input.since)
    const until = yield* day("until", input.until)
    if (since !== undefined && until !== undefined) {
      if (since >= until) return yield* Result.fail(`--since ${input.since} is not before --until ${input.until} (--until is exclusive)`)
      const periods = periodsIn(since, until, period).length
      if (periods > MAX_PERIODS) {
        return yield* Result.fail(`--period ${period}: ${periods} periods from ${input.since} to ${input.until}; at most ${MAX_PERIODS}`)
      }
    }
    if (!Number.isInteger(input.top) || input.top < 0 || input.top > MAX_TOP) {
      return yield* Result.fail(`--top: expected a whole number from 0 to ${MAX_TOP}, got ${input.top}`)
    }
    if (input.modelUsed !== undefined && input.modelUsed.trim() === "") return yield* Result.fail(`--model-used: expected a model name, got ""`)
    return { since, until, period, dimension, modelUsed: input.modelUsed, top: input.top, format }
  })
}

/**
 * Rows folded together, so results stored before 4.3.0 get their agent handles in one query per
 * chunk; small enough that a chunk dies young (see the store's batch size).
 */
const CHUNK = 200

/** Agent handle and the customer's last message of each source document (undecodable ones left out). */
const readSources = (ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const store = yield* ConversationStore
    const out = new Map<string, { readonly agent: string | undefined; readonly lastCustomerMessage: string | undefined }>()
    if (ids.length === 0) return out
    yield* store.readByIds(ids).pipe(Stream.runForEach((record) =>
      Effect.result(decodeConversation(record)).pipe(Effect.map((decoded) => {
        if (Result.isFailure(decoded)) return
        const conversation = decoded.success
        const last = [...conversation.messages].reverse().find((m) => m.inbound)
        out.set(record.id, {
          agent: agentIds(conversation)[0],
          lastCustomerMessage: last === undefined ? undefined : truncate(last.text.replace(/\s+/g, " ").trim(), 160)
        })
      }))
    ))
    return out
  })

/** Streams the window's results through a fresh fold (a retried scan starts again from nothing). */
const scan = (options: ReportOptions & { readonly model: string | undefined }, window: { readonly since: Date; readonly until: Date }) =>
  Effect.gen(function*() {
    const store = yield* ConversationStore
    const fold = makeReportFold({ ...options, ...window })
    // the stored `source_timestamp`s are ISO times to the second: compared as strings
    const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z")
    yield* store.scanResults({ since: iso(window.since), until: iso(window.until) }).pipe(
      Stream.grouped(CHUNK),
      Stream.mapEffect((rows) => {
        const missing = rows.filter(fold.needsHandle).map((r) => r.source_object_id)
        return Effect.map(readSources(missing), (handles) => [rows, handles] as const)
      }),
      Stream.runForEach(([rows, handles]) =>
        Effect.sync(() => {
          for (const row of rows as ReadonlyArray<ResultRow>) fold.add(row, handles.get(row.source_object_id)?.agent)
        })
      )
    )
    return fold.finish()
  })

const reviewItem = (
  c: ReviewCandidate,
  sources: ReadonlyMap<string, { readonly agent: string | undefined; readonly lastCustomerMessage: string | undefined }>,
  rationales: ReadonlyMap<string, AnalysisRationale>
): ReviewItem => ({
  conversation_id: `conv_${c.source_object_id}`,
  source_object_id: c.source_object_id,
  agent: c.agent ?? sources.get(c.source_object_id)?.agent ?? null,
  source_timestamp: c.source_timestamp,
  intent: c.intent,
  topic: c.topic,
  csat_resolution: c.csat_resolution,
  customer_effort_score: c.customer_effort_score,
  resolution_completeness: c.resolution_completeness,
  empathy_score: c.empathy_score,
  last_customer_message: sources.get(c.source_object_id)?.lastCustomerMessage ?? null,
  rationale: rationales.get(c.source_object_id) ?? null
})

/**
 * `cpa report`: one pass over the results of the window (conversation time), folded into
 * coverage, KPI summary, trend, breakdown and review lists, plus the dead letters. Reads only.
 */
export const buildReport = Effect.fn("buildReport")(function*(options: ReportOptions) {
  const store = yield* ConversationStore
  const jobs = yield* JobStateStore
  const settings = yield* Settings
  const now = new Date(yield* Clock.currentTimeMillis)

  // Each lookup is an index read on MongoDB (a scan on FerretDB): only when a default needs it.
  const latest = options.modelUsed === undefined ? (yield* storeOp(store.recentResults(1)))[0] : undefined
  const model = options.modelUsed ?? latest?.analysis_metadata.model_used
  const newest = options.since === undefined || options.until === undefined ? yield* storeOp(store.latestConversationTime(model)) : undefined
  const window = resolveWindow({ since: options.since, until: options.until }, newest === undefined ? now : new Date(newest))

  const fold: FoldResult = yield* storeOp(scan({ ...options, model }, window))

  const state = yield* storeOp(jobs.load(settings.jobName))
  const [backlog, sourcesInWindow, openByTag, oldestOpen] = yield* Effect.all([
    storeOp(store.backlog(state?.last_processed_object_id ?? null)),
    storeOp(store.countSourcesCreated(window.since, window.until)),
    storeOp(store.countDeadLetters("open")),
    storeOp(store.listDeadLetters({ status: "open", oldestFirst: true, limit: options.top }))
  ], { concurrency: 4 })
  const reviewIds = [...new Set([...fold.lowestCsat, ...fold.unresolved].map((c) => c.source_object_id))]
  const sources = yield* storeOp(readSources(reviewIds))
  // The reasons of the few conversations to review, read whole (the scan projects them away).
  const rationales = new Map(
    (yield* storeOp(store.resultsByIds(reviewIds))).flatMap((r) => (r.analysis_rationale !== undefined ? [[r.source_object_id, r.analysis_rationale] as const] : []))
  )

  const models = modelCoverage(fold)
  const report: Report = {
    report_version: REPORT_VERSION,
    generated_at: now.toISOString(),
    query: {
      since: dayString(window.since),
      until: dayString(window.until),
      period: options.period,
      dimension: options.dimension,
      model_used: model ?? null,
      model_chosen_by: options.modelUsed !== undefined ? "flag" : "latest",
      top: options.top,
      time_field: "source_timestamp",
      timezone: "UTC"
    },
    analysis_versions: reportVersions(fold),
    coverage: {
      source_conversations: sourcesInWindow,
      analyzed: analyzedCount(fold),
      analyzed_all_models: models.reduce((n, m) => n + m.results, 0),
      first_conversation: fold.first ?? null,
      last_conversation: fold.last ?? null,
      backlog,
      open_dead_letters: openByTag.reduce((n, t) => n + t.count, 0),
      open_dead_letters_by_tag: openByTag,
      models,
      agent_handles_from_sources: fold.handlesFromSources
    },
    summary: summaryOf(fold),
    distributions: distributionsOf(fold),
    trend: { min_period_size: MIN_PERIOD_SIZE, periods: trendOf(fold) },
    breakdown: breakdownOf(fold),
    cells: cellsOf(fold),
    review: {
      lowest_csat: fold.lowestCsat.map((c) => reviewItem(c, sources, rationales)),
      unresolved_high_effort: fold.unresolved.map((c) => reviewItem(c, sources, rationales))
    },
    dead_letters: {
      open: openByTag.reduce((n, t) => n + t.count, 0),
      open_by_tag: openByTag,
      oldest_open: oldestOpen.map((d) => ({
        source_object_id: d.source_object_id,
        tag: d.error.tag,
        reason: d.error.reason,
        message: d.error.message,
        attempts: d.attempts,
        first_failed_at: d.first_failed_at,
        last_failed_at: d.last_failed_at
      })),
      retry_commands: [
        ...openByTag.map((t) => `cpa dead-letters retry --error ${t.tag}`),
        ...(openByTag.length > 1 ? ["cpa dead-letters retry --all"] : [])
      ]
    }
  }
  yield* Effect.logDebug(`report: ${report.coverage.analyzed_all_models} results in ${report.query.since}..${report.query.until}`)
  return report
})

/** The report in a format; HTML is rendered by the `ReportHtml` adapter (charts as inline SVG). */
export const renderReport = (report: Report, format: Format): Effect.Effect<string, never, ReportHtml> => {
  switch (format) {
    case "text":
      return Effect.succeed(formatReportText(report))
    case "json":
      return Effect.succeed(formatReportJson(report))
    case "csv":
      return Effect.succeed(formatReportCsv(report))
    case "html":
      return Effect.gen(function*() {
        return yield* (yield* ReportHtml).render(report)
      })
  }
}
