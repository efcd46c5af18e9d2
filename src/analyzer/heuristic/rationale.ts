import type { ProposedEvidence, ProposedRationale } from "../../domain/Rationale.ts"
import type { Conversation } from "../../domain/Source.ts"
import { type CueKind, CUES } from "./cues.ts"
import type { Features } from "./features.ts"
import { COMMA, OPEN_PAREN } from "./phrases.ts"
import { isResolved, resolutionTerms } from "./scoreAccuracy.ts"
import { normalize, prose, tokenize } from "./text.ts"

/**
 * The heuristic's rationale: per KPI category, a reason built from what the rules used (the
 * resolution terms, the cues that fired, the waits measured) and the cue hits themselves as
 * evidence, each with its message number and the text it matched. It reads the features and
 * the cue hits only; it never changes a score.
 */

interface CueHit {
  readonly kind: CueKind
  /** 1-based message number. */
  readonly message: number
  readonly inbound: boolean
  /** The matched text as it stands in the message, or undefined when it cannot be located. */
  readonly text: string | undefined
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Finds the words of a hit in the original message: the same words in order, separated by
 * anything that is not a letter or digit (the tokenizer drops punctuation, mentions and URLs),
 * any apostrophe style, any case.
 */
const locate = (raw: string, words: ReadonlyArray<string>): string | undefined => {
  if (words.length === 0) return undefined
  const pattern = words.map((w) => escape(w).replace(/'/g, "['\u2018\u2019\u02bc`\u00b4]")).join("[^\\p{L}\\p{N}]+")
  const match = new RegExp(`(?<![\\p{L}\\p{N}])${pattern}(?![\\p{L}\\p{N}])`, "iu").exec(raw)
  return match?.[0]
}

const cueHits = (c: Conversation): Array<CueHit> =>
  c.messages.flatMap((m, i) => {
    const tokens = tokenize(prose(normalize(m.text)))
    return CUES.hits(tokens).map((h): CueHit => ({
      kind: h.kind,
      message: i + 1,
      inbound: m.inbound,
      text: locate(m.text, tokens.slice(h.start, h.end).filter((t) => t !== COMMA && t !== OPEN_PAREN))
    }))
  })

type Side = "agent" | "customer" | "any"

/**
 * Up to three located hits, in the order of `kinds` (most telling first), later messages first
 * within a kind; `from` limits a kind to messages from that number on. A hit whose text overlaps
 * one already picked in the same message is skipped ("DM" inside "DM us").
 */
const pick = (
  hits: ReadonlyArray<CueHit>,
  kinds: ReadonlyArray<readonly [CueKind, Side] | readonly [CueKind, Side, number]>
): Array<ProposedEvidence> => {
  const out: Array<ProposedEvidence> = []
  for (const [kind, side, from = 1] of kinds) {
    const found = hits.filter((h) =>
      h.kind === kind && h.text !== undefined && h.message >= from && (side === "any" || (side === "customer") === h.inbound)
    )
    for (const h of [...found].reverse()) {
      const text = h.text!.toLowerCase()
      const overlaps = out.some((e) => e.message === h.message && (e.quote.toLowerCase().includes(text) || text.includes(e.quote.toLowerCase())))
      if (overlaps) continue
      out.push({ message: h.message, quote: h.text! })
      if (out.length === 3) return out
    }
  }
  return out
}

const MINUTE = 60_000

/** A wait as people say it: "4 min", "2 h 10 min", "3 days". */
export const formatWait = (ms: number): string => {
  const minutes = Math.round(ms / MINUTE)
  if (minutes < 60) return `${minutes} min`
  if (minutes < 48 * 60) {
    const h = Math.floor(minutes / 60)
    const m = minutes % 60
    return m === 0 ? `${h} h` : `${h} h ${m} min`
  }
  return `${Math.round(minutes / (24 * 60))} days`
}

/** The wait of each customer turn: from its first message to the next agent message (as features.ts measures it). */
export const turnWaits = (c: Conversation): Array<number> => {
  const waits: Array<number> = []
  let start: number | undefined
  for (const m of c.messages) {
    if (m.inbound) start ??= m.createdAt.getTime()
    else {
      if (start !== undefined) {
        const wait = m.createdAt.getTime() - start
        if (Number.isFinite(wait)) waits.push(Math.max(0, wait))
      }
      start = undefined
    }
  }
  return waits
}

const list = (parts: ReadonlyArray<string>): string =>
  parts.length <= 1 ? parts.join("") : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`

const sentence = (s: string): string => `${s.charAt(0).toUpperCase()}${s.slice(1)}.`

const times = (n: number): string => (n === 1 ? "once" : n === 2 ? "twice" : `${n} times`)

const accuracy = (c: Conversation, f: Features, hits: ReadonlyArray<CueHit>): { reason: string; evidence: Array<ProposedEvidence> } => {
  const terms = resolutionTerms(f)
  const points = terms.reduce((sum, t) => sum + t.points, 0)
  const resolved = isResolved(f)
  const why = terms.length === 0 ? "no resolution cue either way" : list(terms.map((t) => `${t.why} (${t.points > 0 ? "+" : ""}${t.points})`))
  const first = sentence(`${resolved ? "Resolved" : "Not resolved"}: ${why}; ${points} point${Math.abs(points) === 1 ? "" : "s"}, resolved from 2`)
  const second = sentence(
    `Reply relevance ${f.turns.replyRelevance.toFixed(2)} of 1 (content words shared with what each reply answers)` +
      (f.anySubstantive ? ", with a concrete instruction or action" : ", with no concrete instruction or action") +
      (f.contradicted ? ", and the customer contradicts a reply" : "")
  )
  // The verdict reads the last three messages, and the last agent message for hand-offs.
  const tail = Math.max(1, c.messages.length - 2)
  const lastAgent = c.messages.findLastIndex((m) => !m.inbound) + 1
  return {
    reason: `${first} ${second}`,
    evidence: pick(hits, [
      ["nonResolution", "customer", tail],
      ["resolution", "customer", tail],
      ["customerResolved", "customer", tail],
      ["agentDone", "agent", tail],
      ["resolution", "agent", tail],
      ["agentCannot", "agent", lastAgent],
      ["handoff", "agent", lastAgent],
      ["followUp", "agent", lastAgent]
    ])
  }
}

const empathy = (f: Features, hits: ReadonlyArray<CueHit>): { reason: string; evidence: Array<ProposedEvidence> } => {
  const cues = f.agentCues
  const did: Array<string> = []
  if (cues.apology > 0) did.push(`apologises (${cues.apology})`)
  if (cues.acknowledgement > 0) did.push(`acknowledges the customer (${cues.acknowledgement})`)
  if (cues.emotionNaming > 0) did.push("names a feeling")
  if (cues.supportive + cues.proactive > 0) did.push(`uses supportive or committing words (${cues.supportive + cues.proactive})`)
  if (f.listening.addressesCustomer) did.push("addresses the customer by handle or name")
  const against: Array<string> = []
  if (cues.rudeness > 0) against.push(`rude phrases (${cues.rudeness})`)
  if (cues.deflection > 0) against.push(`deflection (${cues.deflection})`)
  if (f.agentStyle.duplicates > 0) against.push(`${f.agentStyle.duplicates} verbatim repeated message${f.agentStyle.duplicates === 1 ? "" : "s"}`)
  if (f.listening.askedGiven) against.push("asking again for details already given")
  const { agent, customer } = f.language
  if (agent !== undefined && customer !== undefined && agent !== customer) against.push(`answering in ${agent} to a customer writing ${customer}`)
  const first = sentence(
    `The customer ${f.sentiment.emotional ? "shows emotion" : "shows no strong emotion"}; the agent ` +
      (did.length > 0 ? list(did) : "neither apologises nor acknowledges")
  )
  const second = against.length > 0 ? sentence(`Against it: ${list(against)}`) : "No rude, deflecting or repeated messages."
  return {
    reason: `${first} ${second}`,
    evidence: pick(hits, [
      ["rudeness", "agent"],
      ["deflection", "agent"],
      ["apology", "agent"],
      ["acknowledgement", "agent"],
      ["emotionNaming", "agent"],
      ["supportive", "agent"]
    ])
  }
}

const efficiency = (c: Conversation, f: Features, hits: ReadonlyArray<CueHit>): { reason: string; evidence: Array<ProposedEvidence> } => {
  const waits = turnWaits(c)
  const { chasing, count, repeats } = f.turns
  const measured = waits.length === 0
    ? `${count} customer turn${count === 1 ? "" : "s"}, none answered`
    : `${count} customer turn${count === 1 ? "" : "s"}; first reply after ${formatWait(waits[0]!)}` +
      (waits.length > 1 ? `, longest wait ${formatWait(Math.max(...waits))}` : "")
  const extra: Array<string> = []
  if (chasing > 0) extra.push(`the customer chases ${times(chasing)}`)
  if (repeats > 0) extra.push(`repeats themselves ${times(repeats)}`)
  if (f.agentCues.handoff > 0) extra.push("the agent hands off to another channel or team")
  if (f.agentCues.escalation + f.customerCues.escalation > 0) extra.push("an escalation is mentioned")
  if (f.agentCues.proactive > 0) extra.push("the agent acts for the customer")
  const rest = extra.length > 0 ? sentence(list(extra)) : "No chasing, hand-off or escalation."
  return {
    reason: `${sentence(measured)} ${rest}`,
    evidence: pick(hits, [
      ["escalation", "any"],
      ["handoff", "agent"],
      ["followUp", "agent"],
      ["proactive", "agent"]
    ])
  }
}

const NO_AGENT = "There is no agent message: the customer received no help, so every agent-dependent score is at its minimum."

/** The rationale of a conversation from its features, before the evidence check (`checkRationale`). */
export const explain = (c: Conversation, f: Features): ProposedRationale => {
  const hits = cueHits(c)
  if (f.agentMessages === 0) {
    return {
      accuracy_compliance: { reason: NO_AGENT, evidence: [] },
      empathy_communication: { reason: NO_AGENT, evidence: [] },
      efficiency_resolution: { reason: `${NO_AGENT} ${efficiency(c, f, hits).reason}`, evidence: pick(hits, [["escalation", "customer"]]) }
    }
  }
  return { accuracy_compliance: accuracy(c, f, hits), empathy_communication: empathy(f, hits), efficiency_resolution: efficiency(c, f, hits) }
}
