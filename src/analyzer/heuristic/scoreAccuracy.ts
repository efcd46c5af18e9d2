import { clamp, KPI_CATEGORIES, type KpiScores } from "../../domain/Kpi.ts"
import { type Features, fired } from "./features.ts"

const { accuracy_compliance: AC } = KPI_CATEGORIES

export type AccuracyScores = Pick<KpiScores, keyof typeof AC>

/** One term of the resolution verdict: its points and what it means, for the rationale. */
export interface ResolutionTerm {
  readonly points: number
  readonly why: string
}

/**
 * The terms of the resolution verdict: points for resolution cues near the end, minus points
 * for denials, an unanswered ending, a handoff or pending work.
 */
export const resolutionTerms = (f: Features): Array<ResolutionTerm> => {
  const e = f.ending
  const last = f.lastReplyCues
  const terms: Array<ResolutionTerm> = []
  if (e.customerResolves) terms.push({ points: 2, why: "the customer confirms a fix" })
  if (e.agentResolves) terms.push({ points: 2, why: "the agent says it is done" })
  if (e.positiveClose) terms.push({ points: 2, why: "the customer's last word is thanks" })
  if (e.nothingToFix) terms.push({ points: 2, why: "the customer only praises, with nothing to fix" })
  if (e.customerDenies) terms.push({ points: -3, why: "the customer says it is not resolved" })
  if (e.unanswered) terms.push({ points: -2, why: "the conversation ends with an unanswered customer message" })
  if (!e.customerResolves && fired(last, "handoff")) terms.push({ points: -1, why: "the last agent message hands off" })
  if (!e.customerResolves && fired(last, "followUp")) terms.push({ points: -1, why: "the last agent message leaves work pending" })
  if (fired(last, "agentCannot")) terms.push({ points: -1, why: "the agent says they cannot help" })
  return terms
}

/**
 * The resolution verdict: an agent message and at least 2 points of `resolutionTerms`. Most
 * efficiency and some communication scores depend on it too, which is why it is exported.
 */
export const isResolved = (f: Features): boolean => f.agentMessages > 0 && resolutionTerms(f).reduce((sum, t) => sum + t.points, 0) >= 2

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
