/**
 * A small phrase matcher over tokens: every cue list is compiled once into one index, and one
 * pass over a message's tokens counts the hits of every cue kind at once (a regex per kind and
 * message was the analyzer's main cost).
 *
 * Phrase syntax, one phrase per string, elements separated by spaces:
 * - `word` a token; `a|b|c` any of them; `pre*` a token starting with `pre` (3+ letters when
 *   first); `*suf` a token ending in `suf` (not first); `#` a number;
 * - `[x]` an optional element (the same forms inside);
 * - `~N` up to N tokens of anything within the sentence.
 * Commas are transparent inside a phrase; a phrase never spans a sentence end.
 */

/** Tokens from `tokenize`: words plus "." (sentence end), "," and "(". */
export const SENTENCE_END = "."
export const COMMA = ","
export const OPEN_PAREN = "("

export type Guard = "negation" | "conditional"

export interface CueSpec {
  readonly phrases: ReadonlyArray<string>
  /** Skip a hit when the words right before it negate it or make it conditional. */
  readonly guard?: Guard
  /** Skip a hit followed by this token (a jargon term explained in brackets). */
  readonly notBefore?: string
}

interface Element {
  readonly words: ReadonlySet<string>
  readonly prefixes: ReadonlyArray<string>
  readonly suffixes: ReadonlyArray<string>
  readonly number: boolean
  readonly optional: boolean
  readonly gap: number
}

interface Sequence {
  readonly kind: number
  readonly elements: ReadonlyArray<Element>
}

const NUMBER = /^\d+$/
const PREFIX_KEY = 3
const CACHE_LIMIT = 50_000

const parseElement = (spec: string): Element => {
  const optional = spec.startsWith("[") && spec.endsWith("]")
  const body = optional ? spec.slice(1, -1) : spec
  if (/^~\d+$/.test(body)) return { words: new Set(), prefixes: [], suffixes: [], number: false, optional: false, gap: Number(body.slice(1)) }
  const words = new Set<string>()
  const prefixes: Array<string> = []
  const suffixes: Array<string> = []
  let number = false
  for (const alt of body.split("|")) {
    if (alt === "#") number = true
    else if (alt.length > 1 && alt.startsWith("*")) suffixes.push(alt.slice(1))
    else if (alt.endsWith("*")) prefixes.push(alt.slice(0, -1))
    else words.add(alt)
  }
  return { words, prefixes, suffixes, number, optional, gap: 0 }
}

const test = (e: Element, t: string): boolean => {
  if (e.words.has(t)) return true
  for (const p of e.prefixes) if (t.startsWith(p)) return true
  for (const s of e.suffixes) if (t.length > s.length + 1 && t.endsWith(s)) return true
  return e.number && NUMBER.test(t)
}

const isPunctuation = (t: string): boolean => t === SENTENCE_END || t === COMMA || t === OPEN_PAREN

/** End index (exclusive) of a match of `elements[k..]` starting at token `pos`, or -1. */
const matchFrom = (elements: ReadonlyArray<Element>, k: number, tokens: ReadonlyArray<string>, pos: number): number => {
  if (k === elements.length) return pos
  while (tokens[pos] === COMMA) pos++
  const e = elements[k]!
  if (e.gap > 0) {
    for (let g = 0; g <= e.gap; g++) {
      const skipped = tokens[pos + g - 1]
      if (g > 0 && (skipped === undefined || skipped === SENTENCE_END)) break
      const end = matchFrom(elements, k + 1, tokens, pos + g)
      if (end !== -1) return end
    }
    return -1
  }
  const t = tokens[pos]
  if (t !== undefined && !isPunctuation(t) && test(e, t)) {
    const end = matchFrom(elements, k + 1, tokens, pos + 1)
    if (end !== -1) return end
  }
  return e.optional ? matchFrom(elements, k + 1, tokens, pos) : -1
}

/** Expands a leading optional element, so every sequence starts with a required one. */
const expand = (elements: ReadonlyArray<Element>): Array<ReadonlyArray<Element>> => {
  const first = elements[0]
  if (first === undefined) return []
  if (!first.optional) return [elements]
  return [[{ ...first, optional: false }, ...elements.slice(1)], ...expand(elements.slice(1))]
}

const NEGATION_WORDS: ReadonlySet<string> = new Set(
  ("not never no nicht noch sin pas yet didnt doesnt dont isnt wasnt hasnt havent hadnt cant wont couldnt arent werent " +
    // a wish or a condition is not a fact either: "when will it be fixed", "hope it gets sorted"
    "be get will to please can could until unless if hope when once after").split(" ")
)
const isNegation = (t: string): boolean => NEGATION_WORDS.has(t) || t.endsWith("n't")
const CONDITION_WORDS: ReadonlySet<string> = new Set(["if", "si", "falls", "wenn"])
const CONDITION_REACH = 10

const guarded = (guard: Guard | undefined, tokens: ReadonlyArray<string>, start: number, end: number): boolean => {
  if (guard === undefined) return false
  if (guard === "negation") {
    // "not fixed", "hasn't been fixed": one of the two words before.
    const p1 = tokens[start - 1]
    if (p1 === undefined || isPunctuation(p1)) return false
    if (isNegation(p1)) return true
    const p2 = tokens[start - 2]
    return p2 !== undefined && !isPunctuation(p2) && isNegation(p2)
  }
  // "DM us if anything else comes up", "If you need more, DM us".
  if (CONDITION_WORDS.has(tokens[end] ?? "")) return true
  for (let j = start - 1; j >= 0 && j >= start - CONDITION_REACH; j--) {
    const t = tokens[j]!
    if (t === SENTENCE_END) return false
    if (CONDITION_WORDS.has(t)) return true
  }
  return false
}

/** One counted hit: its kind and the tokens it spans (`start` inclusive, `end` exclusive). */
export interface Hit<K extends string> {
  readonly kind: K
  readonly start: number
  readonly end: number
}

export interface Matcher<K extends string> {
  readonly kinds: ReadonlyArray<K>
  /** Position of each kind in the array `scan` returns. */
  readonly index: Readonly<Record<K, number>>
  /** Hits per kind (by `index`) in one message's tokens; overlapping hits of one kind count once. */
  readonly scan: (tokens: ReadonlyArray<string>) => Int32Array
  /** The hits `scan` counts, with where each lies in `tokens` (for explaining a score). */
  readonly hits: (tokens: ReadonlyArray<string>) => Array<Hit<K>>
}

export const compile = <K extends string>(specs: Readonly<Record<K, CueSpec>>): Matcher<K> => {
  const kinds = Object.keys(specs) as Array<K>
  const byWord = new Map<string, Array<Sequence>>()
  // Sequences starting with a prefix, by the prefix's first character.
  const byFirstChar = new Map<number, Array<Sequence>>()
  const byNumber: Array<Sequence> = []
  const add = <KK, V>(map: Map<KK, Array<V>>, key: KK, v: V) => {
    const list = map.get(key)
    if (list === undefined) map.set(key, [v])
    else list.push(v)
  }
  kinds.forEach((kind, index) => {
    for (const phrase of specs[kind].phrases) {
      for (const elements of expand(phrase.trim().split(/\s+/).map(parseElement))) {
        const seq: Sequence = { kind: index, elements }
        const first = elements[0]!
        if (first.gap > 0 || first.suffixes.length > 0 || first.prefixes.some((p) => p.length < PREFIX_KEY)) {
          throw new Error(`a cue phrase starts with a word, a number or a prefix of ${PREFIX_KEY}+ letters: ${phrase}`)
        }
        for (const w of first.words) add(byWord, w, seq)
        for (const p of new Set(first.prefixes.map((x) => x.charCodeAt(0)))) add(byFirstChar, p, seq)
        if (first.number) byNumber.push(seq)
      }
    }
  })
  const guards = kinds.map((k) => specs[k].guard)
  const notBefore = kinds.map((k) => specs[k].notBefore)
  const index = Object.fromEntries(kinds.map((k, i) => [k, i])) as Record<K, number>

  // Sequences whose first element accepts a token, per token. A token's candidates never change,
  // so caching them only saves time; the cache is dropped when it grows large.
  const cache = new Map<string, ReadonlyArray<Sequence>>()
  const none: ReadonlyArray<Sequence> = []
  const candidates = (t: string): ReadonlyArray<Sequence> => {
    const cached = cache.get(t)
    if (cached !== undefined) return cached
    const found: Array<Sequence> = [...(byWord.get(t) ?? [])]
    for (const seq of byFirstChar.get(t.charCodeAt(0)) ?? []) if (test(seq.elements[0]!, t)) found.push(seq)
    if (NUMBER.test(t)) found.push(...byNumber)
    const result = found.length === 0 ? none : found
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(t, result)
    return result
  }

  /** Calls `onHit` for every hit that counts, in token order; `scan` and `hits` share it. */
  const each = (tokens: ReadonlyArray<string>, onHit: (kind: number, start: number, end: number) => void): void => {
    // Index up to which a kind's last hit reaches; hits starting inside it do not count again.
    const reach = new Int32Array(kinds.length)
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!
      if (isPunctuation(t)) continue
      for (const seq of candidates(t)) {
        const kind = seq.kind
        if (i < reach[kind]!) continue
        const end = matchFrom(seq.elements, 1, tokens, i + 1)
        if (end === -1 || guarded(guards[kind], tokens, i, end)) continue
        if (notBefore[kind] !== undefined && tokens[end] === notBefore[kind]) continue
        onHit(kind, i, end)
        reach[kind] = end
      }
    }
  }

  return {
    kinds,
    index,
    scan: (tokens) => {
      const counts = new Int32Array(kinds.length)
      each(tokens, (kind) => counts[kind]!++)
      return counts
    },
    hits: (tokens) => {
      const found: Array<Hit<K>> = []
      each(tokens, (kind, start, end) => found.push({ kind: kinds[kind]!, start, end }))
      return found
    }
  }
}
