import { Effect, Layer } from "effect"
import type { KpiScores } from "../../domain/Kpi.ts"
import { checkRationale } from "../../domain/Rationale.ts"
import type { Conversation } from "../../domain/Source.ts"
import { type Analysis, Analyzer } from "../../services/Analyzer.ts"
import { extractFeatures, type Features } from "./features.ts"
import { explain } from "./rationale.ts"
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
export const scoreConversation = (c: Conversation): KpiScores => scoreFeatures(extractFeatures(c))

const scoreFeatures = (features: Features): KpiScores => ({
  ...scoreAccuracy(features),
  ...scoreEmpathy(features),
  ...scoreEfficiency(features)
})

/**
 * Scores and explains one conversation: the scores of `scoreConversation` and a rationale
 * from the same features (see rationale.ts), its quotes checked like a model's.
 */
export const analyzeConversation = (c: Conversation): Analysis => {
  const features = extractFeatures(c)
  const { dropped, rationale } = checkRationale(c, explain(c, features))
  return { scores: scoreFeatures(features), model: `heuristic-${HEURISTIC_VERSION}`, usage: undefined, rationale, evidenceDropped: dropped }
}

/** The offline analyzer: no network, no cost, the same scores for the same conversation. */
export class HeuristicAnalyzer {
  static readonly layer: Layer.Layer<Analyzer> = Layer.succeed(
    Analyzer,
    Analyzer.of({
      provider: "heuristic",
      analyze: (conversation) => Effect.sync(() => analyzeConversation(conversation))
    })
  )
}
