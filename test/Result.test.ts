import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { agentIds, ANALYSIS_VERSION, buildResult, toResultRow } from "../src/domain/Result.ts"
import { type Conversation, decodeConversation } from "../src/domain/Source.ts"
import { fixedScores, oid, prng } from "./support/fixtures.ts"
import { isoSeconds } from "../src/domain/Text.ts"

const message = (inbound: boolean, authorId: string | undefined, minute: number) => ({
  text: "hi",
  inbound,
  createdAt: new Date(Date.UTC(2024, 0, 1, 10, minute)),
  authorId,
  role: undefined
})

const conversation = (messages: Conversation["messages"]): Conversation => ({
  sourceId: oid(1),
  messages,
  classification: { categorization: undefined, intent: undefined, topic: undefined, sentiment: undefined },
  overallSentiment: undefined
})

describe("agent_ids (4.3.0)", () => {
  it("the distinct author ids of the agent's messages, in order of first appearance", () => {
    const c = conversation([
      message(true, "cust", 0),
      message(false, "BrandB", 1),
      message(false, "agent_7", 2),
      message(true, "cust", 3),
      message(false, "BrandB", 4),
      message(false, undefined, 5),
      message(false, "agent_2", 6)
    ])
    assert.deepStrictEqual(agentIds(c), ["BrandB", "agent_7", "agent_2"])
    assert.deepStrictEqual(agentIds(conversation([message(true, "cust", 0)])), [])
  })

  it.effect("is stored in every new result, numeric author ids as strings, and read back by the report's row", () =>
    Effect.gen(function*() {
      const c = yield* decodeConversation({
        id: oid(2),
        doc: {
          conversation: {
            tweets: [
              { author_id: 1234, inbound: true, created_at: "2024-01-01T10:00:00Z", text: "help" },
              { author_id: 987, inbound: false, created_at: "2024-01-01T10:01:00Z", text: "on it" }
            ]
          }
        }
      })
      const weights = {
        empathy: { emotion_recognition: 1, acknowledgment_feelings: 0, appropriate_response: 0, personalization: 0, supportive_language: 0, active_listening: 0 },
        clarity: { readability_level: 1, jargon_usage: 0, sentence_structure: 0, coherence: 0, active_voice: 0, conciseness: 0 }
      }
      const r = buildResult(c, fixedScores, weights, { model: "m", usage: undefined, costUsd: undefined, processedAt: new Date(0), jobName: "j" })
      assert.deepStrictEqual(r.conversation_summary.agent_ids, ["987"])
      assert.strictEqual(r.analysis_metadata.analysis_version, ANALYSIS_VERSION)
      assert.strictEqual(ANALYSIS_VERSION, "4.3.0")
      assert.deepStrictEqual(toResultRow(r).conversation_summary.agent_ids, ["987"])
    }))
})

describe("isoSeconds", () => {
  const reference = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z")

  it("is toISOString without the milliseconds, for any instant", () => {
    const rand = prng(17)
    const edges = [0, -1, 999, 1_704_103_200_000, 253_402_300_799_999, 253_402_300_800_000, -30_610_224_000_000, -30_610_224_000_001, -8.64e15, 8.64e15]
    const random = Array.from({ length: 20_000 }, () => Math.floor((rand() - 0.3) * 4e14))
    for (const ms of [...edges, ...random]) assert.strictEqual(isoSeconds(new Date(ms)), reference(new Date(ms)), String(ms))
    assert.strictEqual(isoSeconds(new Date("2024-01-01T10:05:09.999Z")), "2024-01-01T10:05:09Z")
  })
})
