import { clamp, KPI_CATEGORIES, type KpiScores } from "../../domain/Kpi.ts"
import { type Features, fired, type FirstReply } from "./features.ts"
import { isResolved } from "./scoreAccuracy.ts"

const { efficiency_resolution: ER } = KPI_CATEGORIES

export type EfficiencyScores = Pick<KpiScores, keyof typeof ER>

/** first_response_accuracy before clamping: relevance, substance and the customer's reaction. */
const firstResponse = (r: FirstReply | undefined): number => {
  if (r === undefined) return ER.first_response_accuracy.min
  const handoffOnly = !r.substantive && r.cues.handoff > 0
  return 35 + 30 * r.relevance + (r.substantive ? 20 : 0) + 15 * r.reaction - (handoffOnly ? 15 : 0) -
    10 * Math.min(2, r.cues.rudeness)
}

/** The efficiency & resolution KPIs: follow-up, effort, first response, CSAT, escalation, effort reduction. */
export const scoreEfficiency = (f: Features): EfficiencyScores => {
  const resolved = isResolved(f)
  const { rudeness: rude, handoff: handoffs, proactive } = f.agentCues
  const { count: customerTurns, waiting, chasing, repeats, fastFirstReply } = f.turns
  const { unanswered } = f.ending
  const escalations = f.agentCues.escalation + f.customerCues.escalation
  return {
    followup_necessity: !resolved || fired(f.lastReplyCues, "followUp") ? 1 : 0,
    customer_effort_score: clamp(
      ER.customer_effort_score,
      1 + Math.min(2.5, 0.5 * Math.max(0, customerTurns - 1)) + 2.5 * waiting + Math.min(1.5, 0.5 * chasing) +
        (handoffs > 0 ? 1 : 0) + Math.min(1, 0.5 * repeats) + (unanswered ? 1 : 0)
    ),
    first_response_accuracy: clamp(ER.first_response_accuracy, firstResponse(f.firstReply)),
    csat_resolution: clamp(ER.csat_resolution, 3 + 1.5 * f.sentiment.last + (resolved ? 1 : -1) - 0.5 * Math.min(2, rude)),
    escalation_rate: clamp(
      ER.escalation_rate,
      (escalations > 0 ? 80 + 5 * (escalations - 1) : handoffs > 0 ? Math.min(70, 35 + 10 * (handoffs - 1)) : 5) +
        (resolved ? 0 : 10)
    ),
    customer_effort_reduction: clamp(
      ER.customer_effort_reduction,
      25 * Math.min(2, proactive) + (resolved ? 25 : -15) - 20 * Math.min(2, handoffs) - (f.listening.askedGiven ? 25 : 0) -
        30 * Math.min(2, rude) - 10 * Math.min(3, Math.max(0, customerTurns - 2)) + (fastFirstReply ? 10 : 0)
    )
  }
}
