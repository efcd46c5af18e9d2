import type { Conversation, Message } from "../../domain/Source.ts"
import { countPassive, type CueKind, CUES } from "./cues.ts"
import { fleschReadingEase, textStats } from "./readability.ts"
import { isLexiconWord, sentiment } from "./sentiment.ts"
import {
  containsWord,
  contentWords,
  detectLanguage,
  isStopword,
  type Language,
  normalize,
  prose,
  tokenize
} from "./text.ts"

/** Hits per cue kind, summed over one or more messages. */
export type CueCounts = Readonly<Record<CueKind, number>>

/** The customer's sentiment (each message in −1…1, see sentiment.ts). */
export interface CustomerSentiment {
  /** Of the first and last customer message; 0 without one. */
  readonly first: number
  readonly last: number
  /** Some customer message is below −0.25. */
  readonly negative: boolean
  /** Negative, or some customer message has `!!`/`??` or over 30 % capitalised words. */
  readonly emotional: boolean
}

/** Customer turns (runs of customer messages) and how long they waited. */
export interface Turns {
  readonly count: number
  /** Mean wait cost (0…1) over answered turns; 1 when nobody answered. */
  readonly waiting: number
  /** Mean relevance of each agent reply to the customer turn it answers; 0.5 with none. */
  readonly replyRelevance: number
  /** Customer messages beyond the first of their turn. */
  readonly chasing: number
  /** Customer messages whose content words are mostly those of the previous one. */
  readonly repeats: number
  /** The customer wrote first and the agent answered within an hour. */
  readonly fastFirstReply: boolean
}

/** Signs that the agent took in what the customer wrote. */
export interface Listening {
  /** Content words the agent's and the customer's messages share. */
  readonly sharedWords: number
  /** The agent repeats an identifier (order number, reference) the customer gave. */
  readonly echoesId: boolean
  /** The agent asks for details after the customer already gave an identifier or e-mail. */
  readonly askedGiven: boolean
  /** The agent writes the customer's @handle, handle or name. */
  readonly addressesCustomer: boolean
}

export interface AgentStyle {
  /** Agent messages repeating an earlier one word for word (templates). */
  readonly duplicates: number
  /** Some agent message has over 30 % capitalised words. */
  readonly shouts: boolean
  /** Some agent message has `!!` or `??`. */
  readonly repeatedPunct: boolean
  /** The agent signs a message (`^JK`, `-Anna`). */
  readonly signsOff: boolean
  readonly asksQuestion: boolean
}

/** Statistics of the agent's prose, all messages together. */
export interface ProseStats {
  readonly words: number
  readonly sentences: number
  /** Sentences over 35 words. */
  readonly longSentences: number
  /** Flesch reading ease; undefined without words. */
  readonly readingEase: number | undefined
  /** Passive constructions. */
  readonly passive: number
}

/** How the conversation ends: cues in the last three messages. */
export interface Ending {
  /** A customer message after the agent's first reply confirms resolution. */
  readonly customerResolves: boolean
  /** A customer message after the agent's first reply says it is not resolved. */
  readonly customerDenies: boolean
  /** An agent message says it is resolved or done. */
  readonly agentResolves: boolean
  /** The customer's last word, after an agent reply, is thanks or very positive. */
  readonly positiveClose: boolean
  /** Every customer message is positive, with no question and no complaint. */
  readonly nothingToFix: boolean
  /** The conversation ends with a customer message that is neither thanks nor a resolution. */
  readonly unanswered: boolean
}

export interface FirstReply {
  readonly cues: CueCounts
  /** Relevance to everything before it; 0.5 when nothing came before. */
  readonly relevance: number
  /** The customer's next message: 1 resolution, thanks or positive; −1 non-resolution; else 0. */
  readonly reaction: -1 | 0 | 1
  readonly substantive: boolean
}

/** Everything the scorers know of a conversation; they never read its text themselves. */
export interface Features {
  readonly agentMessages: number
  readonly customerMessages: number
  readonly agentCues: CueCounts
  readonly customerCues: CueCounts
  /** The first agent message; undefined when the agent never wrote. */
  readonly firstReply: FirstReply | undefined
  /** Cues of the last agent message; undefined when the agent never wrote. */
  readonly lastReplyCues: CueCounts | undefined
  readonly sentiment: CustomerSentiment
  readonly turns: Turns
  readonly listening: Listening
  readonly agentStyle: AgentStyle
  readonly prose: ProseStats
  readonly language: { readonly customer: Language | undefined; readonly agent: Language | undefined }
  readonly ending: Ending
  /** Some agent message is substantive: an instruction, a proactive action or a resolution. */
  readonly anySubstantive: boolean
  /** A customer message right after an agent message has a non-resolution cue. */
  readonly contradicted: boolean
}

/** Whether a cue of this kind fired in these counts (none when there are no counts). */
export const fired = (cues: CueCounts | undefined, kind: CueKind): boolean => cues !== undefined && cues[kind] > 0

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

const KINDS = Object.keys(CUES.index) as Array<CueKind>
const toCounts = (hits: Int32Array): CueCounts =>
  Object.fromEntries(KINDS.map((k) => [k, hits[CUES.index[k]]!])) as Record<CueKind, number>
const sumCues = (ms: ReadonlyArray<Msg>): CueCounts => {
  const sum = new Int32Array(KINDS.length)
  for (const m of ms) for (let i = 0; i < sum.length; i++) sum[i]! += m.cues[i]!
  return toCounts(sum)
}

const count = (m: Msg, kind: CueKind): number => m.cues[CUES.index[kind]]!
const hit = (m: Msg | undefined, kind: CueKind): boolean => m !== undefined && count(m, kind) > 0
const has = (ms: ReadonlyArray<Msg>, kind: CueKind): boolean => ms.some((m) => count(m, kind) > 0)

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

const substantive = (m: Msg): boolean =>
  hit(m, "actionable") || hit(m, "proactive") || hit(m, "resolution") || hit(m, "agentDone")

const customerSentiment = (customer: ReadonlyArray<Msg>, sentiments: ReadonlyArray<number>): CustomerSentiment => {
  const negative = sentiments.some((s) => s < -0.25)
  return {
    first: sentiments[0] ?? 0,
    last: sentiments[sentiments.length - 1] ?? 0,
    negative,
    emotional: negative || customer.some((m) => REPEATED_PUNCT.test(m.raw) || shouting(m.raw) > 0.3)
  }
}

// A customer turn is a run of customer messages; its wait runs from its first message to the
// next agent message.
const measureTurns = (msgs: ReadonlyArray<Msg>, hasAgent: boolean, customerMessages: number): Turns => {
  const waits: Array<number> = []
  const replyRelevance: Array<number> = []
  let turnStart: number | undefined
  let turnContent = new Set<string>()
  let runLength = 0
  let chasing = 0
  let count = 0
  let repeats = 0
  let previousCustomer: Msg | undefined
  for (const m of msgs) {
    if (m.inbound) {
      if (turnStart === undefined) {
        turnStart = m.at
        count++
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
  const firstAgent = msgs.find((m) => !m.inbound)
  const firstWait = firstAgent !== undefined && msgs[0]!.inbound ? firstAgent.at - msgs[0]!.at : Number.NaN
  return {
    count,
    // Nobody answered at all: the longest wait.
    waiting: hasAgent ? mean(waits, 0) : customerMessages > 0 ? 1 : 0,
    replyRelevance: mean(replyRelevance, 0.5),
    chasing,
    repeats,
    fastFirstReply: firstWait < 60 * MINUTE
  }
}

/** The customer's handle (author ids that never wrote as the agent) or a name they gave, in the agent's text. */
const addressesCustomer = (customer: ReadonlyArray<Msg>, agent: ReadonlyArray<Msg>, agentLower: string): boolean => {
  const handles = new Set(customer.map((m) => m.authorId).filter((h): h is string => h !== undefined && h !== ""))
  for (const m of agent) if (m.authorId !== undefined) handles.delete(m.authorId)
  return [...handles].some((h) => {
    const handle = h.toLowerCase()
    return agentLower.includes(`@${handle}`) || (handle.length >= 3 && !ALL_DIGITS.test(handle) && containsWord(agentLower, handle))
  }) || customerNames(customer).some((name) => containsWord(agentLower, name))
}

const listening = (
  msgs: ReadonlyArray<Msg>,
  customer: ReadonlyArray<Msg>,
  agent: ReadonlyArray<Msg>,
  customerTokens: ReadonlyArray<string>,
  agentTokens: ReadonlyArray<string>,
  agentLower: string
): Listening => {
  const customerIds = new Set(customerTokens.filter(isIdentifier))
  let askedGiven = false
  let idGiven = false
  for (const m of msgs) {
    if (m.inbound) idGiven ||= m.tokens.some(isIdentifier) || EMAIL.test(m.lower)
    else askedGiven ||= idGiven && hit(m, "asksDetails")
  }
  return {
    sharedWords: overlap(union(agent), union(customer)),
    echoesId: customerIds.size > 0 && agentTokens.some((t) => customerIds.has(t)),
    askedGiven,
    addressesCustomer: addressesCustomer(customer, agent, agentLower)
  }
}

const agentStyle = (agent: ReadonlyArray<Msg>, agentLower: string): AgentStyle => {
  const seen = new Set<string>()
  let duplicates = 0
  for (const m of agent) {
    const key = m.tokens.join(" ")
    if (key === "") continue
    if (seen.has(key)) duplicates++
    seen.add(key)
  }
  return {
    duplicates,
    shouts: agent.some((m) => shouting(m.raw) > 0.3),
    repeatedPunct: agent.some((m) => REPEATED_PUNCT.test(m.raw)),
    signsOff: agent.some((m) => AGENT_SIGNOFF.test(m.raw)),
    asksQuestion: agentLower.includes("?")
  }
}

const proseStats = (agent: ReadonlyArray<Msg>, agentTokens: ReadonlyArray<string>): ProseStats => {
  const stats = textStats(agentTokens)
  return {
    words: stats.words,
    sentences: stats.sentences,
    longSentences: stats.sentenceLengths.filter((l) => l > 35).length,
    readingEase: fleschReadingEase(stats),
    passive: agent.reduce((k, m) => k + countPassive(m.tokens), 0)
  }
}

const ending = (
  msgs: ReadonlyArray<Msg>,
  customer: ReadonlyArray<Msg>,
  sentiments: ReadonlyArray<number>,
  firstAgentIndex: number
): Ending => {
  const n = msgs.length
  const tailStart = Math.max(0, n - 3)
  // Customer words count as a verdict only once the agent has answered.
  const tailCustomer = msgs.filter((m, i) => m.inbound && i >= tailStart && firstAgentIndex !== -1 && i > firstAgentIndex)
  const tailAgent = msgs.slice(tailStart).filter((m) => !m.inbound)
  const customerResolves = has(tailCustomer, "resolution") || has(tailCustomer, "customerResolved")
  const lastCustomer = tailCustomer[tailCustomer.length - 1]
  const lastSentiment = sentiments[sentiments.length - 1] ?? 0
  // Thanks (or clear delight) as the customer's last word; "great" alone is too often sarcastic.
  const positiveClose = lastCustomer !== undefined && lastCustomer === customer[customer.length - 1] &&
    !hit(lastCustomer, "nonResolution") && (hit(lastCustomer, "thanks") || lastSentiment > 0.5)
  const last = msgs[n - 1]
  return {
    customerResolves,
    customerDenies: has(tailCustomer, "nonResolution"),
    agentResolves: has(tailAgent, "resolution") || has(tailAgent, "agentDone"),
    positiveClose,
    nothingToFix: firstAgentIndex !== -1 && customer.length > 0 && sentiments.every((s) => s > 0.3) &&
      !customer.some((m) => m.raw.includes("?")) && !has(customer, "nonResolution"),
    unanswered: last !== undefined && last.inbound && !positiveClose && !customerResolves
  }
}

const firstReply = (msgs: ReadonlyArray<Msg>, firstAgentIndex: number): FirstReply | undefined => {
  const first = msgs[firstAgentIndex]
  if (first === undefined) return undefined
  const before = union(msgs.slice(0, firstAgentIndex))
  const next = msgs.slice(firstAgentIndex + 1).find((m) => m.inbound)
  return {
    cues: toCounts(first.cues),
    relevance: before.size === 0 ? 0.5 : relevance(first, before),
    reaction: next === undefined
      ? 0
      : hit(next, "nonResolution")
      ? -1
      : hit(next, "resolution") || hit(next, "customerResolved") || hit(next, "thanks") || sentiment(next.tokens, next.raw) > 0.3
      ? 1
      : 0,
    substantive: substantive(first)
  }
}

/**
 * Reads a conversation once and returns every cue, measure and statistic the scorers use.
 * Pure and deterministic; docs/heuristic-analyzer.md ("Reading the conversation") describes it.
 */
export const extractFeatures = (c: Conversation): Features => {
  const msgs = c.messages.map(prepare)
  const customer = msgs.filter((m) => m.inbound)
  const agent = msgs.filter((m) => !m.inbound)
  const agentTokens = agent.flatMap((m) => [...m.tokens, "."])
  const customerTokens = customer.flatMap((m) => [...m.tokens, "."])
  const agentLower = agent.map((m) => m.lower).join("\n")
  const firstAgentIndex = msgs.findIndex((m) => !m.inbound)
  const sentiments = customer.map((m) => sentiment(m.tokens, m.raw))
  const lastAgent = agent[agent.length - 1]
  return {
    agentMessages: agent.length,
    customerMessages: customer.length,
    agentCues: sumCues(agent),
    customerCues: sumCues(customer),
    firstReply: firstReply(msgs, firstAgentIndex),
    lastReplyCues: lastAgent === undefined ? undefined : toCounts(lastAgent.cues),
    sentiment: customerSentiment(customer, sentiments),
    turns: measureTurns(msgs, agent.length > 0, customer.length),
    listening: listening(msgs, customer, agent, customerTokens, agentTokens, agentLower),
    agentStyle: agentStyle(agent, agentLower),
    prose: proseStats(agent, agentTokens),
    language: { customer: detectLanguage(customerTokens), agent: detectLanguage(agentTokens) },
    ending: ending(msgs, customer, sentiments, firstAgentIndex),
    anySubstantive: agent.some(substantive),
    contradicted: msgs.some((m, i) => m.inbound && i > 0 && !msgs[i - 1]!.inbound && hit(m, "nonResolution"))
  }
}
