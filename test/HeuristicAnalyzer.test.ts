import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Schema } from "effect"
import { KpiScores, weightedMean } from "../src/domain/Kpi.ts"
import type { Conversation } from "../src/domain/Source.ts"
import { Analyzer } from "../src/services/Analyzer.ts"
import { HEURISTIC_VERSION, HeuristicAnalyzer, scoreConversation } from "../src/analyzer/heuristic/HeuristicAnalyzer.ts"
import { loadAgentConfig } from "../src/config/Rubric.ts"
import { prng } from "./support/fixtures.ts"

const weights = Result.getOrThrow(loadAgentConfig("config/agent_performance_config.yaml", path.resolve(import.meta.dirname, ".."))).weights
const empathy = (s: KpiScores) => weightedMean(s.empathy_subfactors, weights.empathy)
const clarity = (s: KpiScores) => weightedMean(s.clarity_subfactors, weights.clarity)
const decodeScores = Schema.decodeUnknownSync(KpiScores)

const MINUTE = 60_000
const START = Date.parse("2024-03-04T10:00:00Z")

/** A turn: who writes, the text, and minutes since the previous message (5 unless given). */
type Turn = readonly ["C" | "A", string, number?]

const conversation = (turns: ReadonlyArray<Turn>, customer = "dana_k", brand = "AcmeHelp"): Conversation => {
  let at = START
  return {
    sourceId: "660000000000000000000001",
    messages: turns.map(([who, text, minutes = 5], i) => {
      if (i > 0) at += minutes * MINUTE
      return {
        text,
        inbound: who === "C",
        createdAt: new Date(at),
        authorId: who === "C" ? customer : brand,
        role: who === "C" ? "Customer" : "Agent"
      }
    }),
    classification: { categorization: undefined, intent: undefined, topic: undefined, sentiment: undefined },
    overallSentiment: undefined
  }
}

interface Pair {
  readonly scenario: string
  readonly polite: ReadonlyArray<Turn>
  readonly rude: ReadonlyArray<Turn>
}

const pairs: ReadonlyArray<Pair> = [
  {
    scenario: "broken order (English)",
    polite: [
      ["C", "@AcmeHelp I'm Dana. My order 48213 arrived broken and I'm really frustrated!!"],
      ["A", "@dana_k Hi Dana, I'm so sorry your order 48213 arrived broken, I understand how frustrating that is. I've processed a full refund and a replacement is on its way. ^JK"],
      ["C", "@AcmeHelp Thanks, that worked! Refund received."]
    ],
    rude: [
      ["C", "@AcmeHelp I'm Dana. My order 48213 arrived broken and I'm really frustrated!!"],
      ["A", "Not our problem. Read the FAQ."],
      ["C", "@AcmeHelp Still not working. Useless."]
    ]
  },
  {
    scenario: "double charge (English, several turns)",
    polite: [
      ["C", "@AcmeHelp you charged my card twice for the same subscription this month. Not happy."],
      ["A", "@dana_k Hi, sorry about that, I can see how annoying a double charge is. Could you tell me the last 4 digits of the card?"],
      ["C", "@AcmeHelp 7731"],
      ["A", "@dana_k Thanks! I found the duplicate charge and I've refunded it, you'll see it back on the 7731 card in 3 days. I'll make sure it doesn't happen again."],
      ["C", "@AcmeHelp Perfect, thank you so much!"]
    ],
    rude: [
      ["C", "@AcmeHelp you charged my card twice for the same subscription this month. Not happy."],
      ["A", "Calm down. You should have read the terms."],
      ["C", "@AcmeHelp I read them. That's wrong, I was charged twice"],
      ["A", "As I already said, read the FAQ."],
      ["C", "@AcmeHelp useless. I want a supervisor"]
    ]
  },
  {
    scenario: "late delivery (Spanish)",
    polite: [
      ["C", "@AcmeHelp Hola, soy Lucía. Mi pedido 55120 llegó roto y estoy muy molesta."],
      ["A", "@dana_k Hola Lucía, lo siento mucho, entiendo lo frustrante que es. Ya hemos procesado el reembolso de tu pedido 55120 y te enviamos otro hoy."],
      ["C", "@AcmeHelp ¡Gracias, solucionado! Muy amables."]
    ],
    rude: [
      ["C", "@AcmeHelp Hola, soy Lucía. Mi pedido 55120 llegó roto y estoy muy molesta."],
      ["A", "No es nuestro problema. Lea las preguntas frecuentes."],
      ["C", "@AcmeHelp Sigue sin funcionar. Inútil."]
    ]
  },
  {
    scenario: "internet outage (German)",
    polite: [
      ["C", "@AcmeHelp Mein Internet geht seit gestern nicht, sehr ärgerlich. Kundennummer 883102"],
      ["A", "@dana_k Hallo, das tut uns leid, ich verstehe, wie ärgerlich das ist. Ich habe die Leitung zu Kundennummer 883102 neu gestartet, es ist behoben."],
      ["C", "@AcmeHelp Funktioniert wieder, danke!"]
    ],
    rude: [
      ["C", "@AcmeHelp Mein Internet geht seit gestern nicht, sehr ärgerlich. Kundennummer 883102"],
      ["A", "Nicht unser Problem. Lesen Sie die FAQ."],
      ["C", "@AcmeHelp Funktioniert immer noch nicht. Nutzlos."]
    ]
  }
]

describe("scoreConversation: a polite, resolving agent outscores a rude, unresolving one", () => {
  for (const { polite, rude, scenario } of pairs) {
    it(scenario, () => {
      const good = scoreConversation(conversation(polite))
      const bad = scoreConversation(conversation(rude))
      assert.isAbove(empathy(good), empathy(bad) + 3, "weighted empathy")
      assert.strictEqual(good.resolution_completeness, 1)
      assert.strictEqual(bad.resolution_completeness, 0)
      assert.isAbove(good.csat_resolution, bad.csat_resolution + 1.5)
      assert.strictEqual(good.followup_necessity, 0)
      assert.strictEqual(bad.followup_necessity, 1)
      assert.isAbove(good.sentiment_shift, bad.sentiment_shift)
      assert.isAbove(good.cultural_sensitivity, bad.cultural_sensitivity)
    })
  }
})

describe("scoreConversation: single rules", () => {
  const base: ReadonlyArray<Turn> = [
    ["C", "@AcmeHelp my parcel 99120 never arrived"],
    ["A", "@dana_k Sorry about that! I've sent a new parcel today."],
    ["C", "@AcmeHelp thanks, got it"]
  ]

  it("a conversation without any agent message is unresolved, with the lowest empathy", () => {
    const s = scoreConversation(conversation([["C", "hello?? anyone"], ["C", "still waiting, useless", 600]]))
    decodeScores(s)
    assert.strictEqual(s.resolution_completeness, 0)
    assert.strictEqual(s.followup_necessity, 1)
    assert.strictEqual(empathy(s), 0)
    assert.strictEqual(clarity(s), 1)
    assert.strictEqual(s.conversation_flow, 1)
    assert.isAbove(s.customer_effort_score, 4)
  })

  it("the customer's @handle or name in the agent's text raises personalization", () => {
    const generic = scoreConversation(conversation([
      ["C", "@AcmeHelp hi, I'm Dana. can I change my delivery address?"],
      ["A", "You can change it under Settings > Orders."]
    ]))
    const byHandle = scoreConversation(conversation([
      ["C", "@AcmeHelp hi, I'm Dana. can I change my delivery address?"],
      ["A", "@dana_k You can change it under Settings > Orders."]
    ]))
    const byName = scoreConversation(conversation([
      ["C", "@AcmeHelp can I change my delivery address? Thanks, Dana"],
      ["A", "Hi Dana! You can change it under Settings > Orders."]
    ], "4711"))
    const byIntroducedName = scoreConversation(conversation([
      ["C", "@AcmeHelp hi, I'm Dana. can I change my delivery address?"],
      ["A", "Hi Dana! You can change it under Settings > Orders."]
    ], "4711"))
    assert.isAbove(byHandle.empathy_subfactors.personalization, generic.empathy_subfactors.personalization + 4)
    assert.isAbove(byIntroducedName.empathy_subfactors.personalization, generic.empathy_subfactors.personalization + 4)
    assert.isAbove(byName.empathy_subfactors.personalization, generic.empathy_subfactors.personalization + 4)
  })

  it("a reply after two days costs more effort and flow than one after five minutes", () => {
    const fast = scoreConversation(conversation([base[0]!, ["A", base[1]![1], 5], base[2]!]))
    const slow = scoreConversation(conversation([base[0]!, ["A", base[1]![1], 2 * 24 * 60], base[2]!]))
    assert.isAbove(slow.customer_effort_score, fast.customer_effort_score + 1.5)
    assert.isBelow(slow.conversation_flow, fast.conversation_flow - 1)
    assert.isBelow(slow.customer_effort_reduction, fast.customer_effort_reduction)
  })

  it("negation flips sentiment: 'not happy' is worse than 'happy'", () => {
    const worse = scoreConversation(conversation([
      ["C", "I'm happy with the new plan"],
      ["A", "Glad to hear it!"],
      ["C", "Actually I'm not happy with it at all"]
    ]))
    const better = scoreConversation(conversation([
      ["C", "I'm not happy with the new plan"],
      ["A", "Sorry to hear that, I've switched you back."],
      ["C", "Now I'm happy, thanks"]
    ]))
    assert.isBelow(worse.sentiment_shift, -0.5)
    assert.isAbove(better.sentiment_shift, 0.5)
  })

  it("rudeness lowers every empathy sub-factor it touches", () => {
    const polite = scoreConversation(conversation(base))
    const rude = scoreConversation(conversation([base[0]!, ["A", "Calm down. I've sent a new parcel today."], base[2]!]))
    assert.isBelow(rude.empathy_subfactors.supportive_language, polite.empathy_subfactors.supportive_language)
    assert.isBelow(rude.empathy_subfactors.acknowledgment_feelings, polite.empathy_subfactors.acknowledgment_feelings)
    assert.isBelow(empathy(rude), empathy(polite) - 2)
  })

  it("escalation cues raise the escalation rate", () => {
    const calm = scoreConversation(conversation(base))
    const handoff = scoreConversation(conversation([base[0]!, ["A", "@dana_k Sorry! Please DM us your address."]]))
    const threat = scoreConversation(conversation([
      base[0]!,
      ["A", "@dana_k Sorry! Please DM us your address."],
      ["C", "I want to speak to a supervisor and I'm filing a complaint"]
    ]))
    assert.isBelow(calm.escalation_rate, 10)
    assert.isAtLeast(handoff.escalation_rate, 35)
    assert.isAtLeast(threat.escalation_rate, 80)
  })

  it("pending work means follow-up; an offer inside an 'if' clause does not", () => {
    const pending = scoreConversation(conversation([
      ...base,
      ["A", "@dana_k Glad it arrived! We'll get back to you within 24 hours about the refund."]
    ]))
    const offer = scoreConversation(conversation([
      ...base,
      ["A", "@dana_k Glad it arrived! DM us if anything else comes up."]
    ]))
    assert.strictEqual(pending.followup_necessity, 1)
    assert.strictEqual(offer.followup_necessity, 0)
  })

  it("the customer saying it still fails outweighs the agent saying it is fixed", () => {
    const claimed: ReadonlyArray<Turn> = [
      ["C", "@AcmeHelp my router keeps dropping the connection"],
      ["A", "@dana_k I've reset your line, it should be fixed now."]
    ]
    assert.strictEqual(scoreConversation(conversation(claimed)).resolution_completeness, 1)
    const denied = scoreConversation(conversation([
      ...claimed,
      ["C", "@AcmeHelp it's still not working"],
      ["A", "@dana_k Sorry to hear that! Have a good day."]
    ]))
    assert.strictEqual(denied.resolution_completeness, 0)
    assert.strictEqual(denied.followup_necessity, 1)
  })

  it("an unanswered last customer message is not resolved", () => {
    const s = scoreConversation(conversation([...base.slice(0, 2), ["C", "@AcmeHelp it has not arrived yet, any news?"]]))
    assert.strictEqual(s.resolution_completeness, 0)
  })

  it("passive voice, jargon and long words lower the clarity sub-factors", () => {
    const plain = scoreConversation(conversation([base[0]!, ["A", "I have sent a new parcel. It comes on Monday."]]))
    const dense = scoreConversation(conversation([
      base[0]!,
      ["A", "Mistakes were made and your SLA ticket ID was escalated to the L2 backend team; consignment reprocessing is anticipated subsequently, contingent upon warehouse provisioning availability."]
    ]))
    assert.isBelow(dense.clarity_subfactors.active_voice, plain.clarity_subfactors.active_voice)
    assert.isBelow(dense.clarity_subfactors.jargon_usage, plain.clarity_subfactors.jargon_usage)
    assert.isBelow(dense.clarity_subfactors.readability_level, plain.clarity_subfactors.readability_level)
  })

  it("answering in another language than the customer's lowers cultural sensitivity", () => {
    const same = scoreConversation(conversation([
      ["C", "Hola, mi pedido no llegó y no tengo nada"],
      ["A", "Hola, lo siento. Ya te enviamos otro pedido con envío urgente."]
    ]))
    const other = scoreConversation(conversation([
      ["C", "Hola, mi pedido no llegó y no tengo nada"],
      ["A", "Hi, sorry about that. We have sent you another order with express shipping."]
    ]))
    assert.isAbove(same.cultural_sensitivity, other.cultural_sensitivity + 2)
  })
})

const WORDS = (
  "the my order is not working still broken thanks sorry refund fixed resolved useless calm down read faq dm us call " +
  "supervisor complaint escalate we'll get back within 24 hours happy frustrated angry great terrible i'm dana @dana_k " +
  "hola gracias lo siento inútil danke nicht funktioniert merci désolé SLA backend were made !!! ??? 😡 🙏 12345 " +
  "https://t.co/x ^JK - , . ; ( ) not happy never very if"
).split(" ")

const randomConversation = (rand: () => number): Conversation => {
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(rand() * xs.length)]!
  const count = 1 + Math.floor(rand() * 40)
  const onlyCustomer = rand() < 0.1
  let at = START + Math.floor(rand() * 1e9)
  const messages = Array.from({ length: count }, () => {
    const shape = rand()
    const text = shape < 0.05
      ? ""
      : shape < 0.08
      ? pick(WORDS).repeat(2_000 + Math.floor(rand() * 20_000))
      : Array.from({ length: 1 + Math.floor(rand() * 60) }, () => pick(WORDS)).join(rand() < 0.5 ? " " : "")
    // Timestamps may repeat or go backwards.
    at += Math.floor((rand() - 0.1) * 3 * 24 * 60 * MINUTE)
    const inbound = onlyCustomer || rand() < 0.5
    return {
      text,
      inbound,
      createdAt: new Date(at),
      authorId: rand() < 0.1 ? undefined : inbound ? pick(["dana_k", "4711", ""]) : "AcmeHelp",
      role: undefined
    }
  })
  return {
    sourceId: "660000000000000000000002",
    messages,
    classification: { categorization: undefined, intent: undefined, topic: undefined, sentiment: undefined },
    overallSentiment: undefined
  }
}

describe("scoreConversation: properties over generated conversations", () => {
  // Seeded, so the generated cases are the same on every run.
  const rand = prng(20240304)
  const cases = Array.from({ length: 400 }, () => randomConversation(rand))

  it("every score decodes as KpiScores (all values in range, binary KPIs 0 or 1)", () => {
    for (const c of cases) {
      const s = scoreConversation(c)
      assert.deepStrictEqual(decodeScores(s), s)
      assert.include([0, 1], s.resolution_completeness)
      assert.include([0, 1], s.followup_necessity)
      if (c.messages.every((m) => m.inbound)) {
        assert.strictEqual(s.resolution_completeness, 0)
        assert.strictEqual(empathy(s), 0)
      }
    }
  })

  it("the same conversation always gets the same scores", () => {
    for (const c of cases.slice(0, 100)) {
      const copy: Conversation = structuredClone(c)
      assert.deepStrictEqual(scoreConversation(copy), scoreConversation(c))
    }
  })
})

describe("HeuristicAnalyzer.layer", () => {
  it.effect("provides an Analyzer that returns the scores, the versioned model name and no usage", () =>
    Effect.gen(function*() {
      const analyzer = yield* Analyzer
      const c = conversation(pairs[0]!.polite)
      const analysis = yield* analyzer.analyze(c)
      assert.strictEqual(analyzer.provider, "heuristic")
      assert.strictEqual(analysis.model, `heuristic-${HEURISTIC_VERSION}`)
      assert.strictEqual(HEURISTIC_VERSION, "1.0.0")
      assert.isUndefined(analysis.usage)
      assert.deepStrictEqual(analysis.scores, scoreConversation(c))
    }).pipe(Effect.provide(HeuristicAnalyzer.layer)))
})

describe("heuristic rationale", () => {
  const analyze = (c: Conversation) =>
    Effect.runSync(Effect.provide(Effect.gen(function*() {
      return yield* (yield* Analyzer).analyze(c)
    }), HeuristicAnalyzer.layer))

  it("explains from the cues that fired, with their message number and matched text, and the waits it measured", () => {
    const c = conversation([
      ["C", "My order 55123 never arrived and I'm really upset!!"],
      ["A", "Sorry to hear that, Dana. I understand how frustrating this is. I've refunded order 55123.", 130],
      ["C", "Thanks, that worked!"]
    ])
    const a = analyze(c)
    assert.deepStrictEqual(a.scores, scoreConversation(c), "the same scores as without a rationale")
    assert.strictEqual(a.evidenceDropped, 0)
    const r = a.rationale!
    assert.match(r.accuracy_compliance.reason, /^Resolved: the customer confirms a fix \(\+2\)/)
    assert.include(r.accuracy_compliance.reason, "resolved from 2")
    assert.deepInclude(r.accuracy_compliance.evidence, { message: 3, quote: "that worked" })
    assert.match(r.empathy_communication.reason, /^The customer shows emotion; the agent apologises \(1\), acknowledges the customer/)
    assert.deepInclude(r.empathy_communication.evidence, { message: 2, quote: "Sorry" })
    assert.deepInclude(r.empathy_communication.evidence, { message: 2, quote: "I understand" })
    assert.include(r.efficiency_resolution.reason, "first reply after 2 h 10 min")
    assert.deepInclude(r.efficiency_resolution.evidence, { message: 2, quote: "I've refunded" })
  })

  it("names what counts against the agent, and the hand-off that keeps a conversation unresolved", () => {
    const c = conversation([
      ["C", "Where is my refund?"],
      ["A", "Not our problem. Please DM us.", 3000],
      ["C", "Still waiting, this is useless"]
    ])
    const r = analyze(c).rationale!
    assert.match(r.accuracy_compliance.reason, /^Not resolved: /)
    assert.include(r.accuracy_compliance.reason, "the customer says it is not resolved (-3)")
    assert.deepInclude(r.accuracy_compliance.evidence, { message: 3, quote: "Still waiting" })
    assert.include(r.empathy_communication.reason, "rude phrases (1)")
    assert.deepStrictEqual(r.empathy_communication.evidence[0], { message: 2, quote: "Not our problem" })
    assert.include(r.efficiency_resolution.reason, "first reply after 2 days")
    assert.include(r.efficiency_resolution.reason, "hands off")
  })

  it("says so when no agent ever wrote", () => {
    const r = analyze(conversation([["C", "hello?"], ["C", "anyone?", 60]])).rationale!
    assert.include(r.empathy_communication.reason, "There is no agent message")
    assert.include(r.efficiency_resolution.reason, "none answered")
    assert.include(r.efficiency_resolution.reason, "chases once")
  })

  it("on every sample: each quote is verbatim in the message it cites, at most three a category, and the scores are the pinned ones", async () => {
    const { loadSourceFile } = await import("../src/store/memory/Samples.ts")
    const { decodeConversation } = await import("../src/domain/Source.ts")
    const { findQuote } = await import("../src/domain/Rationale.ts")
    let quotes = 0
    for (const record of loadSourceFile(path.resolve(import.meta.dirname, "../samples/sentiment_analysis.json"))) {
      const decoded = Effect.runSync(Effect.result(decodeConversation(record)))
      if (decoded._tag === "Failure") continue
      const c = decoded.success
      const a = analyze(c)
      assert.deepStrictEqual(a.scores, scoreConversation(c))
      assert.strictEqual(a.evidenceDropped, 0, record.id)
      for (const category of Object.values(a.rationale!)) {
        assert.isAtMost(category.evidence.length, 3)
        assert.isAtMost(category.reason.length, 400)
        for (const e of category.evidence) {
          quotes++
          assert.strictEqual(findQuote(c.messages[e.message - 1]!.text, e.quote), e.quote, `${record.id} message ${e.message}`)
        }
      }
    }
    assert.isAbove(quotes, 400)
  })
})
