import { Effect, Layer } from "effect"
import type { KpiScores } from "../../domain/Kpi.ts"
import type { Conversation } from "../../domain/Source.ts"
import { Analyzer } from "../../services/Analyzer.ts"
import { extractFeatures } from "./features.ts"
import { scoreAccuracy } from "./scoreAccuracy.ts"
import { scoreEfficiency } from "./scoreEfficiency.ts"
import { scoreEmpathy } from "./scoreEmpathy.ts"

/**
 * Version of the rules (features.ts and the three score*.ts scorers), recorded as
 * `heuristic-<version>` in `model_used`. Bump it on any rule change.
 */
export const HEURISTIC_VERSION = "1.0.0"

/**
 * Scores one conversation from its text and timestamps alone: its features, then one scorer
 * per KPI category. Pure and deterministic; every rule is described in docs/heuristic-analyzer.md.
 */
export const scoreConversation = (c: Conversation): KpiScores => {
  const features = extractFeatures(c)
  return { ...scoreAccuracy(features), ...scoreEmpathy(features), ...scoreEfficiency(features) }
}

/** The offline analyzer: no network, no cost, the same scores for the same conversation. */
export class HeuristicAnalyzer {
  static readonly layer: Layer.Layer<Analyzer> = Layer.succeed(
    Analyzer,
    Analyzer.of({
      provider: "heuristic",
      analyze: (conversation) =>
        Effect.succeed({ scores: scoreConversation(conversation), model: `heuristic-${HEURISTIC_VERSION}`, usage: undefined })
    })
  )
}
