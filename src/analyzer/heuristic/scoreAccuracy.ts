import { clamp, KPI_CATEGORIES, type KpiScores } from "../../domain/Kpi.ts"
import { type Features, fired } from "./features.ts"

const { accuracy_compliance: AC } = KPI_CATEGORIES

export type AccuracyScores = Pick<KpiScores, keyof typeof AC>

/**
 * The resolution verdict: points for resolution cues near the end, minus points for denials,
 * an unanswered ending, a handoff or pending work. Most efficiency and some communication
 * scores depend on it too, which is why it is exported.
 */
export const isResolved = (f: Features): boolean => {
  const e = f.ending
  const last = f.lastReplyCues
  let points = 0
  if (e.customerResolves) points += 2
  if (e.agentResolves) points += 2
  if (e.positiveClose) points += 2
  if (e.nothingToFix) points += 2
  if (e.customerDenies) points -= 3
  if (e.unanswered) points -= 2
  if (!e.customerResolves && fired(last, "handoff")) points -= 1
  if (!e.customerResolves && fired(last, "followUp")) points -= 1
  if (fired(last, "agentCannot")) points -= 1
  return f.agentMessages > 0 && points >= 2
}

/** The accuracy & compliance KPIs: resolution_completeness and accuracy_automated_responses. */
export const scoreAccuracy = (f: Features): AccuracyScores => {
  const resolved = isResolved(f)
  return {
    resolution_completeness: resolved ? 1 : 0,
    accuracy_automated_responses: f.agentMessages > 0
      ? clamp(
        AC.accuracy_automated_responses,
        40 + 25 * f.turns.replyRelevance + (f.anySubstantive ? 15 : 0) + (resolved ? 20 : 0) - (f.contradicted ? 30 : 0) -
          10 * Math.min(2, f.agentCues.rudeness)
      )
      : AC.accuracy_automated_responses.min
  }
}
