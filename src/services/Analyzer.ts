import { Context, type Effect } from "effect"
import type { AnalyzerError, ModelOutputInvalid } from "../domain/Errors.ts"
import type { KpiScores, Usage } from "../domain/Kpi.ts"
import type { AnalysisRationale } from "../domain/Rationale.ts"
import type { Conversation } from "../domain/Source.ts"

export interface Analysis {
  readonly scores: KpiScores
  /** What `analysis_metadata.model_used` records: the model id the provider answered with. */
  readonly model: string
  /** Token usage, when the analyzer is a model that reports it. */
  readonly usage: Usage | undefined
  /** A reason and checked evidence per KPI category; absent when the analyzer gives none. */
  readonly rationale?: AnalysisRationale | undefined
  /** Quotes of the proposed rationale that the evidence check dropped. */
  readonly evidenceDropped?: number | undefined
}

/** What a run of requests is expected to use, before it is sent (no tokenizer offline: an estimate). */
export interface UsageEstimate {
  /** The model the requests go to, for its price. */
  readonly model: string
  readonly usage: Usage
}

/**
 * Scores one conversation on the KPIs. Implemented by `HeuristicAnalyzer` (offline),
 * `AnthropicAnalyzer` (Claude direct) and `AiCoreAnalyzer` (Claude through SAP AI Core).
 * It does not retry: the batch owns the retry policy.
 */
export class Analyzer extends Context.Service<Analyzer, {
  /** The provider name, for logs (`heuristic`, `anthropic`, `aicore`). */
  readonly provider: string
  readonly analyze: (conversation: Conversation) => Effect.Effect<Analysis, AnalyzerError | ModelOutputInvalid>
  /**
   * Only for analyzers that are paid per token: the usage that analyzing these conversations
   * one after another would report (the cached prefix written by the first request, which goes
   * alone on a cold cache, and read by the rest). Absent: analyzing costs nothing.
   */
  readonly estimateUsage?: (conversations: ReadonlyArray<Conversation>, concurrency: number) => UsageEstimate
}>()("cpa/Analyzer") {}
