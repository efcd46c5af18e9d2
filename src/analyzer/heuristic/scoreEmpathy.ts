import { clamp, KPI_CATEGORIES, type KpiScores } from "../../domain/Kpi.ts"
import { type Features, fired } from "./features.ts"
import { isResolved } from "./scoreAccuracy.ts"

const { empathy_communication: EC } = KPI_CATEGORIES
const SUB = EC.empathy_score
const CLR = EC.clarity_language

/** `empathy_score` and `clarity_language` are not scored: they are weighted means of the sub-factors. */
export type EmpathyScores = Pick<
  KpiScores,
  "empathy_subfactors" | "sentiment_shift" | "clarity_subfactors" | "cultural_sensitivity" | "adaptability_quotient" | "conversation_flow"
>

/** The six empathy sub-factors (0–10) of the agent's messages; all 0 without one. */
const scoreEmpathySubfactors = (f: Features): KpiScores["empathy_subfactors"] => {
  if (f.agentMessages === 0) {
    return {
      emotion_recognition: SUB.min,
      acknowledgment_feelings: SUB.min,
      appropriate_response: SUB.min,
      personalization: SUB.min,
      supportive_language: SUB.min,
      active_listening: SUB.min
    }
  }
  const cues = f.agentCues
  const { negative, emotional } = f.sentiment
  const { sharedWords, echoesId, askedGiven, addressesCustomer } = f.listening
  const rudePenalty = Math.min(6, 3 * cues.rudeness)
  const apology = cues.apology > 0
  const acknowledgement = cues.acknowledgement > 0
  const recognises = cues.emotionNaming > 0 || acknowledgement
  const firstAcknowledges = fired(f.firstReply?.cues, "apology") || fired(f.firstReply?.cues, "acknowledgement")
  const specific = echoesId || sharedWords >= 2
  const urgencyMet = cues.agentUrgency > 0 || f.turns.fastFirstReply
  return {
    emotion_recognition: clamp(SUB, (emotional ? (recognises ? 9 : 2) : (recognises ? 8 : 5)) - rudePenalty),
    acknowledgment_feelings: clamp(
      SUB,
      2 + (apology ? 4 : 0) + (acknowledgement ? 3 : 0) + (firstAcknowledges ? 1 : 0) - rudePenalty
    ),
    appropriate_response: clamp(
      SUB,
      7 + (negative && (apology || acknowledgement) ? 2 : 0) -
        (negative && cues.cheerful > 0 ? 3 : 0) +
        (f.customerCues.customerUrgency > 0 ? (urgencyMet ? 1 : -2) : 0) -
        (f.agentStyle.shouts ? 2 : 0) - rudePenalty
    ),
    personalization: clamp(
      SUB,
      2 + (addressesCustomer ? 5 : 0) + (specific ? 2 : 0) + (f.agentStyle.signsOff ? 1 : 0) -
        Math.min(4, 2 * f.agentStyle.duplicates) - rudePenalty / 2
    ),
    supportive_language: clamp(
      SUB,
      3 + 2 * Math.min(3, cues.supportive + cues.proactive) - 3 * Math.min(2, cues.deflection) - rudePenalty
    ),
    active_listening: clamp(
      SUB,
      2 + 2 * Math.min(3, sharedWords) + (echoesId ? 2 : 0) - (askedGiven ? 3 : 0) - rudePenalty / 2
    )
  }
}

/** The six clarity sub-factors (1–10) of the agent's prose; all 1 without a word. */
const scoreClaritySubfactors = (f: Features): KpiScores["clarity_subfactors"] => {
  const { words, sentences, longSentences, readingEase, passive } = f.prose
  if (words === 0) {
    return {
      readability_level: CLR.min,
      jargon_usage: CLR.min,
      sentence_structure: CLR.min,
      coherence: CLR.min,
      active_voice: CLR.min,
      conciseness: CLR.min
    }
  }
  const cues = f.agentCues
  const { duplicates, shouts, repeatedPunct } = f.agentStyle
  const avgSentence = sentences === 0 ? 0 : words / sentences
  const wordsPerMessage = f.agentMessages > 0 ? words / f.agentMessages : 0
  return {
    readability_level: clamp(CLR, 1 + 9 * Math.min(1, Math.max(0, (readingEase ?? 0) / 100))),
    jargon_usage: clamp(CLR, 10 - 60 * (cues.jargon / words)),
    sentence_structure: clamp(
      CLR,
      (avgSentence < 5 ? 10 - (5 - avgSentence) * 0.8 : avgSentence > 20 ? 10 - (avgSentence - 20) * 0.25 : 10) -
        2 * (longSentences / sentences) - (shouts ? 1 : 0) - (repeatedPunct ? 1 : 0)
    ),
    coherence: clamp(CLR, 5 + 3 * f.turns.replyRelevance + Math.min(2, cues.connectors) - 2 * Math.min(2, duplicates)),
    active_voice: clamp(CLR, 10 - 15 * (passive / sentences) + (passive > 0 && cues.ownership > 0 ? 1 : 0)),
    conciseness: clamp(
      CLR,
      10 - (wordsPerMessage < 4 ? 3 : wordsPerMessage > 60 ? Math.min(6, (wordsPerMessage - 60) / 20) : 0) -
        Math.min(4.5, 1.5 * cues.filler) - Math.min(4, 2 * duplicates)
    )
  }
}

/** The empathy & communication KPIs: both sub-factor sets and the four directly scored ones. */
export const scoreEmpathy = (f: Features): EmpathyScores => {
  const hasAgent = f.agentMessages > 0
  const cues = f.agentCues
  const rude = cues.rudeness
  const duplicates = f.agentStyle.duplicates
  const { customer: customerLanguage, agent: agentLanguage } = f.language
  const languageKnown = customerLanguage !== undefined && agentLanguage !== undefined
  const languageMatch = !languageKnown || customerLanguage === agentLanguage
  return {
    empathy_subfactors: scoreEmpathySubfactors(f),
    sentiment_shift: clamp(EC.sentiment_shift, f.customerMessages >= 2 ? f.sentiment.last - f.sentiment.first : 0),
    clarity_subfactors: scoreClaritySubfactors(f),
    cultural_sensitivity: hasAgent
      ? clamp(
        EC.cultural_sensitivity,
        (!languageKnown ? 3.5 : !languageMatch ? 1.5 : customerLanguage === "en" ? 4 : 5) +
          (cues.courtesy > 0 ? 0.5 : 0) - Math.min(3, 1.5 * rude) - (cues.languageDismissal > 0 ? 2 : 0)
      )
      : EC.cultural_sensitivity.min,
    adaptability_quotient: hasAgent
      ? clamp(
        EC.adaptability_quotient,
        100 * (0.45 * f.turns.replyRelevance + 0.2 * (1 - duplicates / f.agentMessages) + 0.2 * (languageMatch ? 1 : 0) +
            0.15 * (f.agentStyle.asksQuestion || cues.acknowledgement > 0 || cues.proactive > 0 ? 1 : 0)) - 20 * rude
      )
      : EC.adaptability_quotient.min,
    conversation_flow: hasAgent
      ? clamp(
        EC.conversation_flow,
        5 - 1.5 * f.turns.waiting - (f.ending.unanswered ? 1 : 0) - Math.min(1.5, 0.5 * f.turns.chasing) -
          Math.min(1, 0.5 * duplicates) - (!isResolved(f) && fired(f.lastReplyCues, "handoff") ? 0.5 : 0)
      )
      : EC.conversation_flow.min
  }
}
