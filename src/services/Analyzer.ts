import { Context, type Effect } from "effect"
import type { AnalyzerError, ModelOutputInvalid } from "../domain/Errors.ts"
import type { KpiScores, Usage } from "../domain/Kpi.ts"
import type { Conversation } from "../domain/Source.ts"

export interface Analysis {
  readonly scores: KpiScores
  /** What `analysis_metadata.model_used` records: the model id the provider answered with. */
  readonly model: string
  /** Token usage, when the analyzer is a model that reports it. */
  readonly usage: Usage | undefined
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
}>()("cpa/Analyzer") {}
