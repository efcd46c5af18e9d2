/** Text preparation shared by the heuristic rules: normalisation, tokens, content words, language. */

const APOSTROPHES = /[\u2018\u2019\u02bc`´]/g
// URLs, @mentions, and the initials Twitter support agents sign with after a caret ("^JK").
const NOT_PROSE = /https?:\/\/\S+|www\.\S+|@\w+|\^\s?\w{1,4}/g
// Numbers with separators ("469.99", "19:40") stay one token, so their dot does not end a sentence.
const TOKEN = /\p{N}+(?:[.,:/]\p{N}+)+|[\p{L}\p{N}]+(?:'\p{L}+)?|[.!?;…\n]+|[,(]/gu

/** Lower-cased text with one apostrophe character, so cue phrases need only one spelling. */
export const normalize = (text: string): string => text.replace(APOSTROPHES, "'").toLowerCase()

/** The prose of a message: without URLs, @mentions and caret sign-offs. */
export const prose = (text: string): string => text.replace(NOT_PROSE, " ")

/** Words, plus "." for a sentence end and "," and "(" (see phrases.ts). */
export const tokenize = (lower: string): Array<string> => {
  const tokens = lower.match(TOKEN)
  if (tokens === null) return []
  for (let i = 0; i < tokens.length; i++) {
    const c = tokens[i]!.charCodeAt(0)
    // 46 ".", 33 "!", 63 "?", 59 ";", 8230 "…", 10 newline
    if (c === 46 || c === 33 || c === 63 || c === 59 || c === 8230 || c === 10) tokens[i] = "."
  }
  return tokens
}

const STOPWORDS = new Set(
  (
    // English
    "the a an and or but if then so to of in on at by for with from as is are was were be been being am do does did " +
    "have has had i me my mine you your yours we us our ours they them their it its this that these those there here " +
    "what which who whom whose when where why how not no yes can could will would shall should may might must just " +
    "very really also too about into over than again still some any all each more most other such only own same " +
    "hi hello hey please thanks thank dear team help sorry let know get got one out up now today " +
    "i'm i've i'll i'd you're you've you'll we're we've we'll it's that's don't doesn't didn't can't won't isn't " +
    "there's what's let's " +
    // Spanish
    "el la los las un una unos unas y o pero que de del al en con por para es son fue ser estar está están mi mis tu " +
    "tus su sus nos yo te le lo se muy más ya hola gracias este esta esto " +
    // German
    "der die das den dem des ein eine einen einem und oder aber ist sind war mit für von zu im auf ich du sie wir " +
    "mein meine ihr ihre nicht kein keine noch schon sehr hallo danke bitte es " +
    // French
    "le les une et ou mais est sont était avec pour dans sur je tu il elle nous vous ils mon ma mes ton votre vos " +
    "pas ne ce cette des du au aux bonjour merci très"
  ).split(" ")
)

/** Words that carry the topic: four letters or more, not a stopword, crude plural folding. */
export const contentWords = (tokens: ReadonlyArray<string>): Set<string> => {
  const out = new Set<string>()
  for (const t of tokens) {
    if (t.length < 4 || STOPWORDS.has(t)) continue
    out.add(t.length > 4 && t.endsWith("s") && !t.endsWith("ss") ? t.slice(0, -1) : t)
  }
  return out
}

export const isStopword = (word: string): boolean => STOPWORDS.has(word)

export type Language = "en" | "es" | "de" | "fr"

const MARKERS: ReadonlyArray<readonly [Language, string]> = [
  ["en", "the and is you my it for not this that with have i was are your our"],
  ["es", "el los las que y es por para con mi una está pero muy hola gracias tengo pedido"],
  ["de", "der die das und ist nicht ich mein meine ein eine mit für sie auf zu hallo danke bitte"],
  ["fr", "le les et est je mon ma pas une pour avec vous ne ce des bonjour merci"]
]
const LANGUAGES: ReadonlyArray<Language> = MARKERS.map(([l]) => l)
const MARKER_INDEX: ReadonlyMap<string, ReadonlyArray<number>> = (() => {
  const index = new Map<string, Array<number>>()
  MARKERS.forEach(([, words], i) => {
    for (const w of words.split(" ")) index.set(w, [...(index.get(w) ?? []), i])
  })
  return index
})()

/** The language with most marker words (ties: the earlier in en, es, de, fr); undefined when there are none. */
export const detectLanguage = (tokens: ReadonlyArray<string>): Language | undefined => {
  const counts = [0, 0, 0, 0]
  for (const t of tokens) {
    const langs = MARKER_INDEX.get(t)
    if (langs !== undefined) for (const i of langs) counts[i]!++
  }
  let best = -1
  let bestCount = 0
  counts.forEach((n, i) => {
    if (n > bestCount) {
      best = i
      bestCount = n
    }
  })
  return LANGUAGES[best]
}

/** Whether `word` occurs in `text` with no letter or digit right before or after it. */
export const containsWord = (text: string, word: string): boolean => {
  if (word === "") return false
  let i = text.indexOf(word)
  while (i !== -1) {
    const before = i === 0 ? "" : text[i - 1]!
    const after = text[i + word.length] ?? ""
    if (!isWordChar(before) && !isWordChar(after)) return true
    i = text.indexOf(word, i + 1)
  }
  return false
}

const WORD_CHAR = /[\p{L}\p{N}_]/u
const isWordChar = (c: string): boolean => c !== "" && WORD_CHAR.test(c)
