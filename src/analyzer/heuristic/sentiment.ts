/**
 * A small hand-written sentiment lexicon (English, with some Spanish, German and French),
 * scored like VADER: word valences from -3 to +3, negation flips and dampens, intensifiers
 * amplify, the sum is squashed into (-1, 1).
 */

const entries = (valence: number, words: string): ReadonlyArray<readonly [string, number]> =>
  words.trim().split(/\s+/).map((w) => [w, valence] as const)

const LEXICON: ReadonlyMap<string, number> = new Map([
  // English
  ...entries(3, "love loved amazing awesome excellent fantastic perfect wonderful brilliant outstanding superb"),
  ...entries(2, "great thanks thank thx appreciate appreciated happy glad delighted pleased helpful kind lovely best " +
    "resolved fixed solved sorted nice good excited satisfied grateful legend quick kudos shoutout lifesaver star hero " +
    "thrilled impressed impressive seamless speedy friendly professional recommend relief fair"),
  ...entries(1, "ok okay fine works worked working better fast easy sure cool welcome smooth"),
  ...entries(-1, "problem issue issues wrong slow late delay delayed waiting wait confused confusing error broken " +
    "charged cancelled canceled missing lost stuck down bad fail failed fails failing"),
  ...entries(-2, "angry annoyed annoying upset frustrated frustrating disappointed disappointing unhappy poor " +
    "ridiculous unacceptable rude sucks crap worse hate hates hated waste terrified scared worried hacked stolen"),
  ...entries(-3, "terrible horrible awful worst useless pathetic disgusting furious scam joke incompetent"),
  // Spanish
  ...entries(2, "gracias genial excelente perfecto contento contenta feliz amable amables solucionado resuelto bien alivio"),
  ...entries(-2, "problema molesto molesta enfadado enfadada roto rota mal malo mala fatal tarde"),
  ...entries(-3, "inútil horrible terrible pésimo pésima vergüenza"),
  // German
  ...entries(2, "danke super toll prima zufrieden freundlich gelöst gut hilfreich"),
  ...entries(-2, "ärgerlich verärgert kaputt schlecht enttäuscht falsch"),
  ...entries(-3, "schrecklich nutzlos unverschämt katastrophe"),
  // French
  ...entries(2, "merci génial parfait content contente heureux heureuse résolu bien"),
  ...entries(-2, "problème fâché fâchée énervé énervée cassé déçu déçue mauvais"),
  ...entries(-3, "nul nulle horrible inadmissible")
])

const NEGATORS: ReadonlySet<string> = new Set(
  "not no never nothing nobody none neither nor without cannot didnt doesnt dont isnt wasnt hasnt havent cant wont nunca jamás ni sin nicht kein keine keinen nie ne pas jamais"
    .split(" ")
)
// German puts "nicht" after the verb ("funktioniert nicht").
const POST_NEGATORS: ReadonlySet<string> = new Set(["nicht", "pas"])
const INTENSIFIERS: ReadonlySet<string> = new Set(
  "very so really extremely super totally absolutely completely incredibly muy tan sehr total très vraiment".split(" ")
)

const NEGATION_WINDOW = 3
const NEGATION_FACTOR = -0.75
const INTENSITY_FACTOR = 1.5
const SQUASH_ALPHA = 15

const POSITIVE_EMOJI =
  /[\u{1F600}-\u{1F60D}\u{1F642}\u{1F917}\u{1F929}\u{1F970}\u{1F973}\u{1F64C}\u{1F64F}\u{1F44C}\u{1F44D}\u{1F44F}\u{2764}\u{1F493}-\u{1F49F}\u{1F389}]/gu
const NEGATIVE_EMOJI = /[\u{1F620}-\u{1F624}\u{1F92C}\u{1F44E}\u{1F61E}\u{1F61F}\u{1F622}\u{1F62D}\u{1F644}\u{1F612}]/gu

const isNegator = (t: string): boolean => NEGATORS.has(t) || t.endsWith("n't")
// Negation does not reach across a clause ("Still not working. Useless." keeps "useless" negative).
const isBoundary = (t: string): boolean => t === "." || t === "," || t === "("
const NON_LATIN = /[^\u0000-\u024f]/

/** Sentiment of one message in (-1, 1), from its tokens and raw text (for emoji); 0 when no cue occurs. */
export const sentiment = (tokens: ReadonlyArray<string>, rawText: string): number => {
  let sum = 0
  let clauseStart = 0
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    if (isBoundary(t)) {
      clauseStart = i + 1
      continue
    }
    const v = LEXICON.get(t)
    if (v === undefined) continue
    let score = v
    if (i > clauseStart && INTENSIFIERS.has(tokens[i - 1]!)) score *= INTENSITY_FACTOR
    let negated = POST_NEGATORS.has(tokens[i + 1] ?? "")
    for (let j = Math.max(clauseStart, i - NEGATION_WINDOW); j < i && !negated; j++) negated = isNegator(tokens[j]!)
    if (negated) score *= NEGATION_FACTOR
    sum += score
  }
  if (NON_LATIN.test(rawText)) {
    sum += 2 * ((rawText.match(POSITIVE_EMOJI)?.length ?? 0) - (rawText.match(NEGATIVE_EMOJI)?.length ?? 0))
  }
  return sum === 0 ? 0 : sum / Math.sqrt(sum * sum + SQUASH_ALPHA)
}

/** Words that name a feeling, used to tell an emotional customer message from a neutral one. */
export const isLexiconWord = (t: string): boolean => LEXICON.has(t)
