import { Schema } from "effect"
import type { Category } from "./Kpi.ts"
import type { Conversation } from "./Source.ts"

/**
 * Why a conversation got its scores: per KPI category a short reason and up to three verbatim
 * quotes, each naming the message it comes from by its 1-based number (the `index` the model
 * sees). Stored as the result's top-level `analysis_rationale`.
 */

export const RATIONALE_CATEGORIES: ReadonlyArray<Category> = ["accuracy_compliance", "empathy_communication", "efficiency_resolution"]

/** Bounds of what is stored (documented in the README). */
export const REASON_MAX_CHARS = 400
export const QUOTE_MAX_CHARS = 160
export const EVIDENCE_MAX_ITEMS = 3

export const Evidence = Schema.Struct({
  /** 1-based message number. */
  message: Schema.Int,
  /** A verbatim excerpt of that message (original case and spacing). */
  quote: Schema.String
})
export type Evidence = typeof Evidence.Type

export const CategoryRationale = Schema.Struct({
  reason: Schema.String,
  evidence: Schema.Array(Evidence)
})
export type CategoryRationale = typeof CategoryRationale.Type

export const AnalysisRationale = Schema.Struct({
  accuracy_compliance: CategoryRationale,
  empathy_communication: CategoryRationale,
  efficiency_resolution: CategoryRationale
})
export type AnalysisRationale = typeof AnalysisRationale.Type

/** A rationale as an analyzer proposes it, before its evidence is checked and bounded. */
export interface ProposedEvidence {
  readonly message: number
  readonly quote: string
}
export type ProposedRationale = Readonly<Record<Category, { readonly reason: string; readonly evidence: ReadonlyArray<ProposedEvidence> }>>

const WHITESPACE = /\s/u
const isSpace = (ch: string): boolean => {
  const c = ch.charCodeAt(0)
  return c === 32 || (c >= 9 && c <= 13) || (c > 127 && WHITESPACE.test(ch))
}

/**
 * Text folded for the evidence check: Unicode NFC, lower case, every run of whitespace one
 * space, trimmed. `at[i]` is the index in the original text of folded character `i`, so a match
 * in the folded text can be cut out of the original.
 */
const fold = (text: string): { readonly folded: string; readonly at: ReadonlyArray<number>; readonly original: string } => {
  const original = text.normalize("NFC")
  let folded = ""
  const at: Array<number> = []
  let pendingSpace = -1
  let i = 0
  for (const ch of original) {
    if (isSpace(ch)) {
      if (pendingSpace === -1) pendingSpace = i
    } else {
      if (pendingSpace !== -1 && folded !== "") {
        folded += " "
        at.push(pendingSpace)
      }
      pendingSpace = -1
      const c = ch.charCodeAt(0)
      // Case folding one character at a time, so a quote folds like the text around it.
      const lower = c < 128 ? (c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : ch) : ch.toLowerCase()
      for (let k = 0; k < lower.length; k++) at.push(i)
      folded += lower
    }
    i += ch.length
  }
  return { folded, at, original }
}

/**
 * Where `quote` occurs in `text` after whitespace and case folding: the excerpt of the original
 * text it matches (original case and spacing), or undefined when it does not occur.
 */
export const findQuote = (text: string, quote: string): string | undefined => {
  const q = fold(quote).folded
  if (q === "") return undefined
  const t = fold(text)
  const start = t.folded.indexOf(q)
  if (start === -1) return undefined
  const end = start + q.length - 1
  const from = t.at[start]!
  const lastStart = t.at[end]!
  // The last matched character may be a surrogate pair or expand under lower-casing.
  const cp = t.original.codePointAt(lastStart)!
  return t.original.slice(from, lastStart + (cp > 0xffff ? 2 : 1))
}

/** Cuts a text to `max` characters at the last space before the limit (never inside a word when it can help it). */
const cut = (text: string, max: number, ellipsis: boolean): string => {
  if (text.length <= max) return text
  const room = ellipsis ? max - 1 : max
  const hard = text.slice(0, room)
  const space = hard.lastIndexOf(" ")
  const soft = (space > room / 2 ? hard.slice(0, space) : hard).trimEnd()
  return ellipsis ? `${soft}…` : soft
}

export interface CheckedRationale {
  readonly rationale: AnalysisRationale
  /** Quotes dropped because they do not occur in the message they cite (or cite no message). */
  readonly dropped: number
}

/**
 * Checks a proposed rationale against the conversation. A quote that does not occur, after
 * whitespace and case folding, in the message it cites (1-based), or that cites no message of
 * the conversation, is dropped and counted. What is kept is bounded: the reason to
 * `REASON_MAX_CHARS` (cut at a word, with an ellipsis), the first `EVIDENCE_MAX_ITEMS` checked
 * quotes, each stored as the message's own text (case and spacing) and cut to `QUOTE_MAX_CHARS`.
 */
export const checkRationale = (conversation: Conversation, proposed: ProposedRationale): CheckedRationale => {
  let dropped = 0
  const category = (c: Category): CategoryRationale => {
    const { evidence, reason } = proposed[c]
    const kept: Array<Evidence> = []
    for (const e of evidence) {
      const message = Number.isInteger(e.message) ? conversation.messages[e.message - 1] : undefined
      const excerpt = message === undefined ? undefined : findQuote(message.text, e.quote)
      if (excerpt === undefined) {
        dropped++
        continue
      }
      if (kept.length < EVIDENCE_MAX_ITEMS) kept.push({ message: e.message, quote: cut(excerpt, QUOTE_MAX_CHARS, false) })
    }
    return { reason: cut(reason.trim().replace(/\s+/gu, " "), REASON_MAX_CHARS, true), evidence: kept }
  }
  return {
    rationale: {
      accuracy_compliance: category("accuracy_compliance"),
      empathy_communication: category("empathy_communication"),
      efficiency_resolution: category("efficiency_resolution")
    },
    dropped
  }
}
