import { Effect, Layer } from "effect"
import { clamp, KPI_CATEGORIES, type KpiScores } from "../../domain/Kpi.ts"
import type { Conversation, Message } from "../../domain/Source.ts"
import { Analyzer } from "../../services/Analyzer.ts"
import { countPassive, type CueKind, CUES } from "./cues.ts"
import { fleschReadingEase, textStats } from "./readability.ts"
import { isLexiconWord, sentiment } from "./sentiment.ts"
import { containsWord, contentWords, detectLanguage, isStopword, normalize, prose, tokenize } from "./text.ts"

/** Version of the rules below, recorded as `heuristic-<version>` in `model_used`. Bump it on any rule change. */
export const HEURISTIC_VERSION = "1.0.0"

const { accuracy_compliance: AC, empathy_communication: EC, efficiency_resolution: ER } = KPI_CATEGORIES
const SUB = EC.empathy_score
const CLR = EC.clarity_language

interface Msg {
  readonly raw: string
  /** Normalised text (lower case, one apostrophe), mentions and URLs included. */
  readonly lower: string
  /** Tokens of the prose (no mentions, URLs, caret sign-offs). */
  readonly tokens: ReadonlyArray<string>
  readonly content: ReadonlySet<string>
  /** Hits per cue kind, by `CUES.index`. */
  readonly cues: Int32Array
  readonly inbound: boolean
  readonly at: number
  readonly authorId: string | undefined
}

const prepare = (m: Message): Msg => {
  const lower = normalize(m.text)
  const tokens = tokenize(prose(lower))
  return {
    raw: m.text,
    lower,
    tokens,
    content: contentWords(tokens),
    cues: CUES.scan(tokens),
    inbound: m.inbound,
    at: m.createdAt.getTime(),
    authorId: m.authorId
  }
}

const count = (m: Msg, kind: CueKind): number => m.cues[CUES.index[kind]]!
const hit = (m: Msg | undefined, kind: CueKind): boolean => m !== undefined && count(m, kind) > 0
const has = (ms: ReadonlyArray<Msg>, kind: CueKind): boolean => ms.some((m) => count(m, kind) > 0)
const total = (ms: ReadonlyArray<Msg>, kind: CueKind): number => ms.reduce((n, m) => n + count(m, kind), 0)

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x))
const mean = (xs: ReadonlyArray<number>, empty: number): number =>
  xs.length === 0 ? empty : xs.reduce((a, b) => a + b, 0) / xs.length
const overlap = (a: ReadonlySet<string>, b: ReadonlySet<string>): number => {
  let n = 0
  for (const w of a) if (b.has(w)) n++
  return n
}
const union = (msgs: ReadonlyArray<Msg>): Set<string> => {
  const out = new Set<string>()
  for (const m of msgs) for (const w of m.content) out.add(w)
  return out
}

const MINUTE = 60_000
// Waiting cost on a log scale: 5 min ≈ 0.11, 1 h ≈ 0.40, 1 day ≈ 0.89, 2 days or more = 1.
const latencyCost = (ms: number): number => clamp01(Math.log1p(Math.max(0, ms) / MINUTE / 5) / Math.log1p(2880 / 5))

// Order numbers and references: four digits or more, or five characters or more with a digit.
const HAS_DIGIT = /\d/
const ALL_DIGITS = /^\d+$/
const isIdentifier = (t: string): boolean => t.length >= 4 && HAS_DIGIT.test(t) && (t.length >= 5 || ALL_DIGITS.test(t))
const EMAIL = /\w@[\w-]+\.\w/

const CAPS_RUN = /[A-Z]{3}/
const CAPS_WORD = /(?<![\p{L}])\p{Lu}{3,}(?![\p{L}])/gu
const LETTER_WORD = /\p{L}{3,}/gu
const REPEATED_PUNCT = /[!?]{2,}/
const AGENT_SIGNOFF = /\^\s?\p{Lu}{1,4}(?![\p{L}])|[-–—~]\s?\p{Lu}\p{Ll}+\s*$/mu
const NAME_INTRO = new RegExp(
  `(?<![\\p{L}])(?:${
    ["[Ii]'m", "[Ii] am", "[Mm]y name is", "[Tt]his is", "[Mm]e llamo", "[Ss]oy", "[Ii]ch bin", "[Ii]ch heiße", "[Mm]ein Name ist",
      "[Jj]e m'appelle", "[Jj]e suis"].join("|")
  })\\s+(\\p{Lu}\\p{Ll}+)`,
  "gu"
)
const NAME_SIGNOFF = new RegExp(
  `(?:(?:${
    ["[Tt]hanks", "[Tt]hank you", "[Cc]heers", "[Rr]egards", "[Bb]est", "[Gg]racias", "[Ss]aludos", "[Dd]anke", "[Gg]rüße", "[Gg]ruß",
      "[Mm]erci", "[Cc]ordialement"].join("|")
  })[,!.]?\\s*[-–—]?\\s*|[-–—~]\\s*)(\\p{Lu}\\p{Ll}+)\\s*[.!]?\\s*$`,
  "u"
)
const NOT_A_NAME = new Set(
  ("sorry very really still just not so here back glad happy angry upset frustrated also currently unable able sure afraid " +
    "fine good okay done again trying having going writing looking waiting calling contacting already disappointed " +
    "ridiculous customer team support").split(" ")
)

const isName = (word: string): boolean => {
  const w = word.toLowerCase()
  return !NOT_A_NAME.has(w) && !isStopword(w) && !isLexiconWord(w) && !w.endsWith("ing")
}

/** Names the customer gives ("I'm Dana", a "Thanks, Dana" sign-off), lower-cased. */
const customerNames = (customer: ReadonlyArray<Msg>): Array<string> => {
  const names: Array<string> = []
  for (const m of customer) {
    const text = m.raw.replace(/[\u2018\u2019]/g, "'")
    for (const match of text.matchAll(NAME_INTRO)) if (isName(match[1]!)) names.push(match[1]!.toLowerCase())
    const signoff = NAME_SIGNOFF.exec(text.trimEnd())
    if (signoff !== null && isName(signoff[1]!)) names.push(signoff[1]!.toLowerCase())
  }
  return names
}

/** Share of words of three letters or more written in capitals. */
const shouting = (raw: string): number => {
  if (!CAPS_RUN.test(raw)) return 0
  const words = raw.match(LETTER_WORD)?.length ?? 0
  return words < 3 ? 0 : (raw.match(CAPS_WORD)?.length ?? 0) / words
}

/** How far a reply picks up the words of what it answers: two shared content words = 1. */
const relevance = (reply: Msg, before: ReadonlySet<string>): number => clamp01(overlap(reply.content, before) / 2)

/**
 * Scores one conversation from its text and timestamps alone. Pure and deterministic; every
 * rule is described in docs/heuristic-analyzer.md.
 */
export const scoreConversation = (c: Conversation): KpiScores => {
  const msgs = c.messages.map(prepare)
  const n = msgs.length
  const customer = msgs.filter((m) => m.inbound)
  const agent = msgs.filter((m) => !m.inbound)
  const hasAgent = agent.length > 0
  const agentTokens = agent.flatMap((m) => [...m.tokens, "."])
  const customerTokens = customer.flatMap((m) => [...m.tokens, "."])
  const agentContent = union(agent)
  const customerContent = union(customer)
  const firstAgentIndex = msgs.findIndex((m) => !m.inbound)
  const firstAgent = msgs[firstAgentIndex]
  const lastAgent = agent[agent.length - 1]
  const last = msgs[n - 1]

  const customerSentiments = customer.map((m) => sentiment(m.tokens, m.raw))
  const firstSentiment = customerSentiments[0] ?? 0
  const lastSentiment = customerSentiments[customerSentiments.length - 1] ?? 0
  const customerNegative = customerSentiments.some((s) => s < -0.25)
  const customerEmotional = customerNegative || customer.some((m) => REPEATED_PUNCT.test(m.raw) || shouting(m.raw) > 0.3)

  // Turns and waiting. A customer turn is a run of customer messages; its wait runs from its
  // first message to the next agent message.
  const waits: Array<number> = []
  const replyRelevance: Array<number> = []
  let turnStart: number | undefined
  let turnContent = new Set<string>()
  let runLength = 0
  let chasing = 0
  let customerTurns = 0
  let repeats = 0
  let previousCustomer: Msg | undefined
  for (const m of msgs) {
    if (m.inbound) {
      if (turnStart === undefined) {
        turnStart = m.at
        customerTurns++
        turnContent = new Set()
      }
      runLength++
      for (const w of m.content) turnContent.add(w)
      // Saying it again: most content words of the previous customer message come back.
      if (previousCustomer !== undefined && m.content.size >= 3 &&
        overlap(m.content, previousCustomer.content) / m.content.size >= 0.6) repeats++
      previousCustomer = m
    } else {
      if (turnStart !== undefined) {
        const wait = m.at - turnStart
        waits.push(Number.isFinite(wait) ? latencyCost(wait) : 0)
        replyRelevance.push(relevance(m, turnContent))
        chasing += runLength - 1
      }
      turnStart = undefined
      runLength = 0
    }
  }
  if (runLength > 0) chasing += runLength - 1
  // Nobody answered at all: the longest wait.
  const waiting = hasAgent ? mean(waits, 0) : customer.length > 0 ? 1 : 0
  const relevanceMean = mean(replyRelevance, 0.5)
  const firstWait = firstAgent !== undefined && msgs[0]!.inbound ? firstAgent.at - msgs[0]!.at : Number.NaN
  const fastFirstReply = firstWait < 60 * MINUTE

  // Agent messages that repeat an earlier one word for word (templates).
  const seen = new Set<string>()
  let duplicates = 0
  for (const m of agent) {
    const key = m.tokens.join(" ")
    if (key === "") continue
    if (seen.has(key)) duplicates++
    seen.add(key)
  }

  const rude = total(agent, "rudeness")
  const rudePenalty = Math.min(6, 3 * rude)
  const apology = has(agent, "apology")
  const acknowledgement = has(agent, "acknowledgement")
  const handoffs = total(agent, "handoff")
  const proactive = total(agent, "proactive")

  // Order numbers and references the customer gave and the agent repeats.
  const customerIds = new Set(customerTokens.filter(isIdentifier))
  const echoesId = customerIds.size > 0 && agentTokens.some((t) => customerIds.has(t))
  const sharedWords = overlap(agentContent, customerContent)
  // Asking for details after the customer already gave an identifier.
  let askedGiven = false
  let idGiven = false
  for (const m of msgs) {
    if (m.inbound) idGiven ||= m.tokens.some(isIdentifier) || EMAIL.test(m.lower)
    else askedGiven ||= idGiven && hit(m, "asksDetails")
  }

  // --- resolution: cues in the last three messages ------------------------------------------
  const tailStart = Math.max(0, n - 3)
  // Customer words count as a verdict only once the agent has answered.
  const tailCustomer = msgs.filter((m, i) => m.inbound && i >= tailStart && firstAgentIndex !== -1 && i > firstAgentIndex)
  const tailAgent = msgs.slice(tailStart).filter((m) => !m.inbound)
  const customerResolves = has(tailCustomer, "resolution") || has(tailCustomer, "customerResolved")
  const customerDenies = has(tailCustomer, "nonResolution")
  const lastCustomer = tailCustomer[tailCustomer.length - 1]
  // Thanks (or clear delight) as the customer's last word; "great" alone is too often sarcastic.
  const positiveClose = lastCustomer !== undefined && lastCustomer === customer[customer.length - 1] &&
    !hit(lastCustomer, "nonResolution") && (hit(lastCustomer, "thanks") || lastSentiment > 0.5)
  // Praise or thanks with no question or complaint: there was nothing to fix.
  const nothingToFix = hasAgent && customer.length > 0 && customerSentiments.every((s) => s > 0.3) &&
    !customer.some((m) => m.raw.includes("?")) && !has(customer, "nonResolution")
  const unanswered = last !== undefined && last.inbound && !positiveClose && !customerResolves
  let resolutionPoints = 0
  if (customerResolves) resolutionPoints += 2
  if (has(tailAgent, "resolution") || has(tailAgent, "agentDone")) resolutionPoints += 2
  if (positiveClose) resolutionPoints += 2
  if (nothingToFix) resolutionPoints += 2
  if (customerDenies) resolutionPoints -= 3
  if (unanswered) resolutionPoints -= 2
  if (!customerResolves && hit(lastAgent, "handoff")) resolutionPoints -= 1
  if (!customerResolves && hit(lastAgent, "followUp")) resolutionPoints -= 1
  if (hit(lastAgent, "agentCannot")) resolutionPoints -= 1
  const resolved = hasAgent && resolutionPoints >= 2

  // --- empathy sub-factors (0-10) -----------------------------------------------------------
  const recognises = has(agent, "emotionNaming") || acknowledgement
  const firstAcknowledges = hit(firstAgent, "apology") || hit(firstAgent, "acknowledgement")
  // The customer's handle: author ids of customer messages that never wrote as the agent.
  const handles = new Set(customer.map((m) => m.authorId).filter((h): h is string => h !== undefined && h !== ""))
  for (const m of agent) if (m.authorId !== undefined) handles.delete(m.authorId)
  const agentLower = agent.map((m) => m.lower).join("\n")
  const addressesCustomer = [...handles].some((h) => {
    const handle = h.toLowerCase()
    return agentLower.includes(`@${handle}`) || (handle.length >= 3 && !ALL_DIGITS.test(handle) && containsWord(agentLower, handle))
  }) || customerNames(customer).some((name) => containsWord(agentLower, name))
  const specific = echoesId || sharedWords >= 2
  const urgencyMet = has(agent, "agentUrgency") || fastFirstReply
  const agentShouts = agent.some((m) => shouting(m.raw) > 0.3)
  const signsOff = agent.some((m) => AGENT_SIGNOFF.test(m.raw))

  const empathy = hasAgent
    ? {
      emotion_recognition: clamp(SUB, (customerEmotional ? (recognises ? 9 : 2) : (recognises ? 8 : 5)) - rudePenalty),
      acknowledgment_feelings: clamp(
        SUB,
        2 + (apology ? 4 : 0) + (acknowledgement ? 3 : 0) + (firstAcknowledges ? 1 : 0) - rudePenalty
      ),
      appropriate_response: clamp(
        SUB,
        7 + (customerNegative && (apology || acknowledgement) ? 2 : 0) -
          (customerNegative && has(agent, "cheerful") ? 3 : 0) +
          (has(customer, "customerUrgency") ? (urgencyMet ? 1 : -2) : 0) -
          (agentShouts ? 2 : 0) - rudePenalty
      ),
      personalization: clamp(
        SUB,
        2 + (addressesCustomer ? 5 : 0) + (specific ? 2 : 0) + (signsOff ? 1 : 0) - Math.min(4, 2 * duplicates) -
          rudePenalty / 2
      ),
      supportive_language: clamp(
        SUB,
        3 + 2 * Math.min(3, total(agent, "supportive") + proactive) - 3 * Math.min(2, total(agent, "deflection")) -
          rudePenalty
      ),
      active_listening: clamp(
        SUB,
        2 + 2 * Math.min(3, sharedWords) + (echoesId ? 2 : 0) - (askedGiven ? 3 : 0) - rudePenalty / 2
      )
    }
    : {
      emotion_recognition: SUB.min,
      acknowledgment_feelings: SUB.min,
      appropriate_response: SUB.min,
      personalization: SUB.min,
      supportive_language: SUB.min,
      active_listening: SUB.min
    }

  // --- clarity sub-factors (1-10), on the agent's prose ---------------------------------------
  const stats = textStats(agentTokens)
  const avgSentence = stats.sentences === 0 ? 0 : stats.words / stats.sentences
  const longSentences = stats.sentenceLengths.filter((l) => l > 35).length
  const wordsPerMessage = hasAgent ? stats.words / agent.length : 0
  const passive = agent.reduce((k, m) => k + countPassive(m.tokens), 0)
  const clarity = stats.words > 0
    ? {
      readability_level: clamp(CLR, 1 + 9 * clamp01((fleschReadingEase(stats) ?? 0) / 100)),
      jargon_usage: clamp(CLR, 10 - 60 * (total(agent, "jargon") / stats.words)),
      sentence_structure: clamp(
        CLR,
        (avgSentence < 5 ? 10 - (5 - avgSentence) * 0.8 : avgSentence > 20 ? 10 - (avgSentence - 20) * 0.25 : 10) -
          2 * (longSentences / stats.sentences) - (agentShouts ? 1 : 0) - (agent.some((m) => REPEATED_PUNCT.test(m.raw)) ? 1 : 0)
      ),
      coherence: clamp(CLR, 5 + 3 * relevanceMean + Math.min(2, total(agent, "connectors")) - 2 * Math.min(2, duplicates)),
      active_voice: clamp(
        CLR,
        10 - 15 * (passive / stats.sentences) + (passive > 0 && has(agent, "ownership") ? 1 : 0)
      ),
      conciseness: clamp(
        CLR,
        10 - (wordsPerMessage < 4 ? 3 : wordsPerMessage > 60 ? Math.min(6, (wordsPerMessage - 60) / 20) : 0) -
          Math.min(4.5, 1.5 * total(agent, "filler")) - Math.min(4, 2 * duplicates)
      )
    }
    : {
      readability_level: CLR.min,
      jargon_usage: CLR.min,
      sentence_structure: CLR.min,
      coherence: CLR.min,
      active_voice: CLR.min,
      conciseness: CLR.min
    }

  // --- the other KPIs --------------------------------------------------------------------------
  const customerLanguage = detectLanguage(customerTokens)
  const agentLanguage = detectLanguage(agentTokens)
  const languageKnown = customerLanguage !== undefined && agentLanguage !== undefined
  const languageMatch = !languageKnown || customerLanguage === agentLanguage

  const substantive = (m: Msg): boolean => hit(m, "actionable") || hit(m, "proactive") || hit(m, "resolution") || hit(m, "agentDone")
  // A customer message right after an agent message saying the answer was wrong or did not help.
  const contradicted = msgs.some((m, i) => m.inbound && i > 0 && !msgs[i - 1]!.inbound && hit(m, "nonResolution"))
  const escalations = total(msgs, "escalation")

  let firstResponse: number = ER.first_response_accuracy.min
  if (firstAgent !== undefined) {
    const before = union(msgs.slice(0, firstAgentIndex))
    const rel = before.size === 0 ? 0.5 : relevance(firstAgent, before)
    const next = msgs.slice(firstAgentIndex + 1).find((m) => m.inbound)
    const reaction = next === undefined
      ? 0
      : hit(next, "nonResolution")
      ? -1
      : hit(next, "resolution") || hit(next, "customerResolved") || hit(next, "thanks") || sentiment(next.tokens, next.raw) > 0.3
      ? 1
      : 0
    const isSubstantive = substantive(firstAgent)
    const handoffOnly = !isSubstantive && hit(firstAgent, "handoff")
    firstResponse = 35 + 30 * rel + (isSubstantive ? 20 : 0) + 15 * reaction - (handoffOnly ? 15 : 0) -
      10 * Math.min(2, count(firstAgent, "rudeness"))
  }

  return {
    resolution_completeness: resolved ? 1 : 0,
    accuracy_automated_responses: hasAgent
      ? clamp(
        AC.accuracy_automated_responses,
        40 + 25 * relevanceMean + (agent.some(substantive) ? 15 : 0) + (resolved ? 20 : 0) - (contradicted ? 30 : 0) -
          10 * Math.min(2, rude)
      )
      : AC.accuracy_automated_responses.min,
    empathy_subfactors: empathy,
    sentiment_shift: clamp(EC.sentiment_shift, customer.length >= 2 ? lastSentiment - firstSentiment : 0),
    clarity_subfactors: clarity,
    cultural_sensitivity: hasAgent
      ? clamp(
        EC.cultural_sensitivity,
        (!languageKnown ? 3.5 : !languageMatch ? 1.5 : customerLanguage === "en" ? 4 : 5) +
          (has(agent, "courtesy") ? 0.5 : 0) - Math.min(3, 1.5 * rude) - (has(agent, "languageDismissal") ? 2 : 0)
      )
      : EC.cultural_sensitivity.min,
    adaptability_quotient: hasAgent
      ? clamp(
        EC.adaptability_quotient,
        100 * (0.45 * relevanceMean + 0.2 * (1 - duplicates / agent.length) + 0.2 * (languageMatch ? 1 : 0) +
            0.15 * (agentLower.includes("?") || acknowledgement || proactive > 0 ? 1 : 0)) - 20 * rude
      )
      : EC.adaptability_quotient.min,
    conversation_flow: hasAgent
      ? clamp(
        EC.conversation_flow,
        5 - 1.5 * waiting - (unanswered ? 1 : 0) - Math.min(1.5, 0.5 * chasing) - Math.min(1, 0.5 * duplicates) -
          (!resolved && hit(lastAgent, "handoff") ? 0.5 : 0)
      )
      : EC.conversation_flow.min,
    followup_necessity: !resolved || hit(lastAgent, "followUp") ? 1 : 0,
    customer_effort_score: clamp(
      ER.customer_effort_score,
      1 + Math.min(2.5, 0.5 * Math.max(0, customerTurns - 1)) + 2.5 * waiting + Math.min(1.5, 0.5 * chasing) +
        (handoffs > 0 ? 1 : 0) + Math.min(1, 0.5 * repeats) + (unanswered ? 1 : 0)
    ),
    first_response_accuracy: clamp(ER.first_response_accuracy, firstResponse),
    csat_resolution: clamp(ER.csat_resolution, 3 + 1.5 * lastSentiment + (resolved ? 1 : -1) - 0.5 * Math.min(2, rude)),
    escalation_rate: clamp(
      ER.escalation_rate,
      (escalations > 0 ? 80 + 5 * (escalations - 1) : handoffs > 0 ? Math.min(70, 35 + 10 * (handoffs - 1)) : 5) +
        (resolved ? 0 : 10)
    ),
    customer_effort_reduction: clamp(
      ER.customer_effort_reduction,
      25 * Math.min(2, proactive) + (resolved ? 25 : -15) - 20 * Math.min(2, handoffs) - (askedGiven ? 25 : 0) -
        30 * Math.min(2, rude) - 10 * Math.min(3, Math.max(0, customerTurns - 2)) + (fastFirstReply ? 10 : 0)
    )
  }
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
