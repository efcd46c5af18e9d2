import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { decodeConversation } from "../src/domain/Source.ts"
import { scoreConversation } from "../src/analyzer/heuristic/HeuristicAnalyzer.ts"
import { loadSourceFile } from "../src/store/memory/Samples.ts"

/**
 * The heuristic's scores for every sample conversation, pinned in a committed fixture, so a
 * refactoring that changes any score fails here. After an intended rule change (and a bump of
 * HEURISTIC_VERSION), regenerate with `UPDATE_PINS=1 npx vitest run test/HeuristicScoresPinned.test.ts`.
 */
const ROOT = path.resolve(import.meta.dirname, "..")
const SAMPLES = path.join(ROOT, "samples/sentiment_analysis.json")
const FIXTURE = path.join(ROOT, "test/fixtures/heuristic-scores.json")

/** Source id → its scores, or the reason the record does not decode. JSON-normalised. */
const currentScores = (): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const record of loadSourceFile(SAMPLES)) {
    assert.notProperty(out, record.id, `duplicate sample id ${record.id}`)
    const decoded = Effect.runSync(Effect.result(decodeConversation(record)))
    out[record.id] = decoded._tag === "Success"
      ? scoreConversation(decoded.success)
      : { invalid: decoded.failure.message }
  }
  return JSON.parse(JSON.stringify(out))
}

describe("heuristic scores pinned on the sample set", () => {
  it("every sample scores exactly as recorded in test/fixtures/heuristic-scores.json", () => {
    const actual = currentScores()
    if (process.env["UPDATE_PINS"] === "1") {
      fs.mkdirSync(path.dirname(FIXTURE), { recursive: true })
      fs.writeFileSync(FIXTURE, `${JSON.stringify(actual, null, 2)}\n`)
    }
    const pinned = JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as Record<string, unknown>
    assert.isAtLeast(Object.keys(pinned).length, 200, "the fixture covers the sample set")
    assert.deepStrictEqual(Object.keys(actual), Object.keys(pinned), "the same records, in the same order")
    const changed = Object.keys(pinned).filter((id) => JSON.stringify(actual[id]) !== JSON.stringify(pinned[id]))
    assert.deepStrictEqual(
      Object.fromEntries(changed.map((id) => [id, actual[id]])),
      Object.fromEntries(changed.map((id) => [id, pinned[id]])),
      `${changed.length} record(s) score differently from the pin`
    )
  })
})
