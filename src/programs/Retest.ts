import { Console, Effect, Stream } from "effect"
import { KPI_SCALES, kpiValue, type Scale } from "../domain/Calibration.ts"
import { estimateCost } from "../domain/Cost.ts"
import { ConfigError, RunFatal } from "../domain/Errors.ts"
import { addUsage, emptyUsage, KPI_NAMES, type KpiName, type Usage } from "../domain/Kpi.ts"
import { type AgenticAnalysis, buildResult } from "../domain/Result.ts"
import { type Conversation, decodeConversation } from "../domain/Source.ts"
import { mean, seededRandom } from "../domain/Statistics.ts"
import { Analyzer } from "../services/Analyzer.ts"
import { ConversationStore } from "../services/ConversationStore.ts"
import { Settings } from "../services/Settings.ts"
import type { OutputFormat } from "./Calibrate.ts"
import { describeChoice, selectModelUsed } from "./ModelChoice.ts"
import { RULE } from "./Reports.ts"
import { withRetry } from "./Retry.ts"
import { storeOp } from "./StoreOp.ts"

/**
 * `cpa retest`: agreement of the analyzer with itself. No sampling temperature can be set on
 * the current Anthropic API, so stability is measured: N already-scored conversations are
 * scored again and compared with their stored results. Nothing is written.
 */

/** Above this estimated cost a paid re-scoring needs `--yes`. */
export const RETEST_CONFIRM_ABOVE_USD = 0.25

/** `n` ids drawn without replacement by a seeded shuffle (the same ids for the same seed and ids), in id order. */
export const sampleIds = (ids: ReadonlyArray<string>, n: number, seed: number): Array<string> => {
  const pool = [...ids]
  const random = seededRandom(seed)
  const k = Math.min(n, pool.length)
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (pool.length - i))
    ;[pool[i], pool[j]] = [pool[j]!, pool[i]!]
  }
  return pool.slice(0, k).sort()
}

export interface KpiStability {
  readonly kpi: KpiName
  readonly scale: Scale
  readonly n: number
  /** Mean of |stored − again| over the conversations. */
  readonly meanAbsoluteDifference: number | null
  readonly maxAbsoluteDifference: number | null
  /** Share of conversations whose value came back exactly the same. */
  readonly identical: number | null
  /** Binary KPIs: share of conversations whose 0/1 flipped. */
  readonly flipped: number | null
}

/** Per KPI, how far the second scoring moved from the stored one. */
export const compareRuns = (pairs: ReadonlyArray<{ readonly stored: AgenticAnalysis; readonly again: AgenticAnalysis }>): Array<KpiStability> =>
  (KPI_NAMES as ReadonlyArray<KpiName>).map((kpi) => {
    const diffs = pairs.map(({ again, stored }) => Math.abs(kpiValue(stored, kpi) - kpiValue(again, kpi)))
    const scale = KPI_SCALES[kpi]
    return {
      kpi,
      scale,
      n: diffs.length,
      meanAbsoluteDifference: mean(diffs),
      maxAbsoluteDifference: diffs.length === 0 ? null : Math.max(...diffs),
      identical: mean(diffs.map((d) => (d === 0 ? 1 : 0))),
      flipped: scale === "binary" ? mean(diffs.map((d) => (d >= 0.5 ? 1 : 0))) : null
    }
  })

export interface RetestReport {
  readonly storedModel: string
  readonly analyzer: string
  readonly analyzerModels: ReadonlyArray<string>
  readonly seed: number
  readonly requested: number
  readonly sampled: ReadonlyArray<string>
  readonly rescored: number
  readonly failed: ReadonlyArray<{ readonly id: string; readonly error: string }>
  readonly missingSource: ReadonlyArray<string>
  readonly estimatedCostUsd: number | null
  readonly usage: Usage
  readonly costUsd: number | null
  readonly kpis: ReadonlyArray<KpiStability>
  /** Share of the binary KPI values (both of them, over all conversations) that flipped. */
  readonly binaryFlipped: number | null
}

const fmt = (v: number | null, digits = 3): string => (v === null ? "-" : v.toFixed(digits))
const pct = (v: number | null): string => (v === null ? "-" : `${(v * 100).toFixed(1)} %`)

export const formatRetest = (r: RetestReport, choiceLine: string): string => {
  const rows = r.kpis.map((k) => [
    k.kpi,
    k.scale === "binary" ? "0/1" : k.scale,
    String(k.n),
    fmt(k.meanAbsoluteDifference),
    fmt(k.maxAbsoluteDifference),
    pct(k.identical),
    k.flipped === null ? "" : pct(k.flipped)
  ])
  const header = ["KPI", "scale", "n", "mean |diff|", "max |diff|", "identical", "flipped"]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)) + 2)
  const sameModel = r.analyzerModels.length === 1 && r.analyzerModels[0] === r.storedModel
  return [
    RULE,
    "RETEST: the same conversations scored again",
    RULE,
    `Stored results: ${choiceLine}`,
    `Scored again by: ${r.analyzer}${r.analyzerModels.length > 0 ? ` (${r.analyzerModels.join(", ")})` : ""}` +
    (sameModel || r.analyzerModels.length === 0 ? "" : ` - NOT the stored model: this measures agreement between models, not stability`),
    `Sample: ${r.sampled.length} of ${r.requested} requested, seed ${r.seed}; scored again: ${r.rescored}` +
    (r.failed.length > 0 ? `; failed: ${r.failed.length}` : "") +
    (r.missingSource.length > 0 ? `; source document gone: ${r.missingSource.length}` : ""),
    ...r.failed.map((f) => `  failed ${f.id}: ${f.error}`),
    `Nothing was written to agentic_analysis.`,
    ...(r.costUsd !== null ? [`Cost: $${r.costUsd.toFixed(4)} (estimated before: $${fmt(r.estimatedCostUsd, 4)})`] : []),
    "",
    ...[header, ...rows].map((row) => `  ${row.map((c, i) => c.padEnd(widths[i]!)).join("")}`.trimEnd()),
    "",
    `Binary KPIs flipped: ${pct(r.binaryFlipped)} of ${r.kpis.filter((k) => k.scale === "binary").reduce((n, k) => n + k.n, 0)} values`,
    "Composite KPIs (empathy_score, clarity_language) are recomputed from the sub-factors with the configured weights."
  ].join("\n")
}

/**
 * `cpa retest --sample N`: re-scores N stored results of one `model_used` (seeded sample) with
 * the configured analyzer, writes nothing, and reports per KPI the mean absolute difference and
 * the share of binary KPIs that flipped. A paid analyzer's estimated cost is printed first, and
 * above `RETEST_CONFIRM_ABOVE_USD` (or with no price configured) it needs `yes`.
 */
export const retest = Effect.fn("retest")(function*(options: {
  readonly sample: number
  readonly seed: number
  readonly modelUsed: string | undefined
  readonly format: OutputFormat
  readonly yes: boolean
}) {
  const settings = yield* Settings
  const store = yield* ConversationStore
  const analyzer = yield* Analyzer
  const choice = yield* selectModelUsed(options.modelUsed)
  const model = choice.chosen.model
  const ids = sampleIds(yield* storeOp(store.resultIds(model)), options.sample, options.seed)
  const stored = new Map((yield* storeOp(store.resultsByIds(ids))).map((r) => [r.source_object_id, r]))
  const sources = yield* store.readByIds(ids).pipe(
    Stream.mapError((e) => new RunFatal({ message: `MongoDB read failed (${e.reason}): ${e.message}` })),
    Stream.runCollect
  )
  const conversations: Array<Conversation> = []
  for (const record of sources) {
    const decoded = yield* Effect.result(decodeConversation(record))
    if (decoded._tag === "Success") conversations.push(decoded.success)
  }
  const found = new Set(conversations.map((c) => c.sourceId))
  const missingSource = ids.filter((id) => !found.has(id))

  let estimatedCostUsd: number | null = null
  if (analyzer.estimateUsage !== undefined && conversations.length > 0) {
    const estimate = analyzer.estimateUsage(conversations, settings.concurrency)
    const cost = estimateCost(estimate.model, estimate.usage, settings.llmOptions.prices)
    estimatedCostUsd = cost ?? null
    const tokens = estimate.usage.input_tokens + estimate.usage.cache_creation_input_tokens + estimate.usage.cache_read_input_tokens
    yield* Console.error(
      `retest: ${conversations.length} request(s) to ${estimate.model} (${analyzer.provider}), about ${tokens.toLocaleString("en-US")} input and ` +
        `${estimate.usage.output_tokens.toLocaleString("en-US")} output tokens (estimated at 4 characters a token): ` +
        (cost === undefined ? `no price for ${estimate.model} in llm.prices, cost unknown` : `estimated cost $${cost.toFixed(4)}`)
    )
    if (!options.yes && (cost === undefined || cost > RETEST_CONFIRM_ABOVE_USD)) {
      return yield* new ConfigError({
        setting: "--yes",
        message: `retest: ${cost === undefined ? "the cost is unknown" : `the estimated cost $${cost.toFixed(2)} is above $${RETEST_CONFIRM_ABOVE_USD.toFixed(2)}`}; ` +
          `add --yes to re-score ${conversations.length} conversation(s) with ${estimate.model}, or lower --sample`
      })
    }
  }

  const failed: Array<{ id: string; error: string }> = []
  const again: Array<{ stored: AgenticAnalysis; again: AgenticAnalysis }> = []
  const models = new Set<string>()
  let usage = emptyUsage
  let cost = 0
  let priced = true
  yield* Effect.forEach(conversations, (conversation) =>
    withRetry(analyzer.analyze(conversation), settings.retry, (error, attempt) =>
      Effect.logInfo(`retest ${conversation.sourceId}: attempt ${attempt} failed (${error._tag}: ${error.message}); retrying`)).pipe(
        Effect.flatMap((analysis) =>
          Effect.sync(() => {
            models.add(analysis.model)
            if (analysis.usage !== undefined) {
              usage = addUsage(usage, analysis.usage)
              const c = estimateCost(analysis.model, analysis.usage, settings.llmOptions.prices)
              if (c === undefined) priced = false
              else cost += c
            }
            again.push({
              stored: stored.get(conversation.sourceId)!,
              again: buildResult(conversation, analysis.scores, settings.agent.weights, {
                model: analysis.model,
                usage: analysis.usage,
                costUsd: undefined,
                processedAt: new Date(0),
                jobName: settings.jobName
              })
            })
          })
        ),
        Effect.catch(({ error }) =>
          error.severity === "fatal"
            ? Effect.fail(new RunFatal({ message: `${analyzer.provider}: ${error.message}`, sourceId: conversation.sourceId }))
            : Effect.sync(() => void failed.push({ id: conversation.sourceId, error: `${error._tag}: ${error.message}` }))
        )
      ), { concurrency: settings.concurrency, discard: true })

  again.sort((a, b) => (a.stored.source_object_id < b.stored.source_object_id ? -1 : 1))
  const kpis = compareRuns(again)
  const binary = kpis.filter((k) => k.scale === "binary" && k.n > 0)
  const flippedValues = binary.reduce((n, k) => n + (k.flipped ?? 0) * k.n, 0)
  const binaryValues = binary.reduce((n, k) => n + k.n, 0)
  const report: RetestReport = {
    storedModel: model,
    analyzer: analyzer.provider,
    analyzerModels: [...models].sort(),
    seed: options.seed,
    requested: options.sample,
    sampled: ids,
    rescored: again.length,
    failed: failed.sort((a, b) => (a.id < b.id ? -1 : 1)),
    missingSource,
    estimatedCostUsd,
    usage,
    costUsd: usage.input_tokens + usage.output_tokens > 0 && priced ? cost : null,
    kpis,
    binaryFlipped: binaryValues === 0 ? null : flippedValues / binaryValues
  }
  yield* Console.log(
    options.format === "json"
      ? JSON.stringify({
        stored_model: report.storedModel,
        model_choice: { named: choice.named, available: choice.available },
        analyzer: report.analyzer,
        analyzer_models: report.analyzerModels,
        seed: report.seed,
        requested: report.requested,
        sampled: report.sampled,
        rescored: report.rescored,
        failed: report.failed,
        missing_source: report.missingSource,
        written: 0,
        estimated_cost_usd: report.estimatedCostUsd,
        usage: report.usage,
        cost_usd: report.costUsd,
        binary_flipped: report.binaryFlipped,
        kpis: report.kpis.map((k) => ({
          kpi: k.kpi,
          scale: k.scale,
          n: k.n,
          mean_absolute_difference: k.meanAbsoluteDifference,
          max_absolute_difference: k.maxAbsoluteDifference,
          identical: k.identical,
          flipped: k.flipped
        }))
      }, null, 2)
      : formatRetest(report, describeChoice(choice))
  )
  return report
})
