/** Sentence and word statistics of prose, and the Flesch reading-ease formula built on them. */

const VOWELS = "aeiouyàáâäèéêëìíîïòóôöùúûü"
const NUMBER = /^\d/

export interface TextStats {
  readonly words: number
  readonly sentences: number
  readonly syllables: number
  /** Word counts of the sentences that have at least one word. */
  readonly sentenceLengths: ReadonlyArray<number>
}

/** Vowel groups, minus a silent final "e", at least one (good enough for English; roughly right elsewhere). */
export const syllables = (word: string): number => {
  let groups = 0
  let inGroup = false
  for (let i = 0; i < word.length; i++) {
    const vowel = VOWELS.includes(word[i]!)
    if (vowel && !inGroup) groups++
    inGroup = vowel
  }
  const silentE = word.length > 2 && word.endsWith("e") && !word.endsWith("le") && groups > 1 ? 1 : 0
  return Math.max(1, groups - silentE)
}

/** Statistics of tokens from `tokenize` ("." ends a sentence; numbers and punctuation are not words). */
export const textStats = (tokens: ReadonlyArray<string>): TextStats => {
  const sentenceLengths: Array<number> = []
  let words = 0
  let syl = 0
  let current = 0
  for (const t of tokens) {
    if (t === ".") {
      if (current > 0) sentenceLengths.push(current)
      current = 0
    } else if (t !== "," && t !== "(" && !NUMBER.test(t)) {
      current++
      words++
      syl += syllables(t)
    }
  }
  if (current > 0) sentenceLengths.push(current)
  return { words, sentences: sentenceLengths.length, syllables: syl, sentenceLengths }
}

/** Flesch reading ease: about 0 (academic) to 100+ (very easy); undefined without words. */
export const fleschReadingEase = (s: TextStats): number | undefined =>
  s.words === 0 ? undefined : 206.835 - 1.015 * (s.words / s.sentences) - 84.6 * (s.syllables / s.words)
