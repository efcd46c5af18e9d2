import type { SourceRecord } from "../../src/domain/Source.ts"
import { conversationDoc, oid } from "../support/fixtures.ts"

/**
 * Source documents the upstream pipeline should not produce but might: each either fails
 * decoding with a one-line reason naming the field, or is analyzed with the counts given here.
 */

export type Expectation =
  | {
    readonly outcome: "dead"
    /** The field path the reason must start with (`conversation.tweets[1].text`). */
    readonly field: string
    /** What the reason must say about it. */
    readonly says: RegExp
  }
  | {
    readonly outcome: "analyzed"
    readonly total: number
    readonly customer: number
    readonly agent: number
    /** `conversation_summary.intent` (null when the label is missing or null). */
    readonly intent: string | null
    readonly sourceTimestamp?: string
  }

export interface CorpusCase {
  readonly name: string
  readonly doc: Record<string, unknown>
  readonly expect: Expectation
}

const tweet = (n: number, inbound: boolean, text: string, extra: Record<string, unknown> = {}) => ({
  tweet_id: n,
  author_id: inbound ? "cust" : "ShopHelp",
  inbound,
  created_at: new Date(Date.UTC(2024, 0, 1, 10, n)).toISOString(),
  text,
  ...extra
})

const conversation = (tweets: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}) => ({
  conversation: {
    tweets,
    classification: { categorization: "Delivery", intent: "Order Status", topic: "Shipping", sentiment: "Negative" },
    ...extra
  },
  sentiment_analysis: { overall_sentiment: "Neutral" }
})

const ok = { customer: "Where is my parcel? It was due on Monday.", agent: "Sorry about the wait! I have checked: it arrives tomorrow before noon." }

/** 1 MiB of plain ASCII prose (no characters JSON would escape), so request sizes are predictable. */
export const ONE_MB_TEXT = "My parcel is late and nobody answers my emails. ".repeat(Math.ceil(1_048_576 / 48)).slice(0, 1_048_576)

export const FIVE_THOUSAND = 5_000
/** Every third message is the customer's. */
const fiveThousand = Array.from({ length: FIVE_THOUSAND }, (_, i) =>
  tweet(i % 50, i % 3 === 0, i % 3 === 0 ? `Message ${i}: still waiting for my refund.` : `Message ${i}: we are looking into it, thank you for waiting.`))
const fiveThousandCustomers = fiveThousand.filter((t) => t.inbound).length

const CONTROL = "\u0000nul \u0007bell \u001b[31mred\u001b[0m \u0008backspace \u000b\u000c\u007f\u0085 \ud800 lone surrogate"
const MIXED = "مرحبا، طلبي لم يصل بعد \u200f(RTL mark)\u200e 你好，我的订单还没到。こんにちは 안녕하세요 🙂📦🚚 👩🏽‍💻 Привет \u202eoverride\u202c"

export const corpus: ReadonlyArray<CorpusCase> = [
  {
    name: "missing conversation",
    doc: { sentiment_analysis: { overall_sentiment: "Negative" } },
    expect: { outcome: "dead", field: "conversation", says: /missing/ }
  },
  {
    name: "conversation is null",
    doc: { conversation: null },
    expect: { outcome: "dead", field: "conversation", says: /expected object/ }
  },
  {
    name: "tweets is a string",
    doc: { conversation: { tweets: "Where is my parcel?" } },
    expect: { outcome: "dead", field: "conversation.tweets", says: /expected array/ }
  },
  {
    name: "tweets is an object keyed by index",
    doc: { conversation: { tweets: { 0: tweet(0, true, ok.customer) } } },
    expect: { outcome: "dead", field: "conversation.tweets", says: /expected array/ }
  },
  {
    name: "empty tweets",
    doc: conversation([]),
    expect: { outcome: "dead", field: "conversation.tweets", says: /empty/ }
  },
  {
    name: "a null message",
    doc: conversation([tweet(0, true, ok.customer), null]),
    expect: { outcome: "dead", field: "conversation.tweets[1]", says: /expected object/ }
  },
  {
    name: "non-string text (a number)",
    doc: conversation([tweet(0, true, ok.customer), tweet(1, false, 42 as unknown as string)]),
    expect: { outcome: "dead", field: "conversation.tweets[1].text", says: /expected string/ }
  },
  {
    name: "non-string text (an object)",
    doc: conversation([tweet(0, true, { body: "hi" } as unknown as string)]),
    expect: { outcome: "dead", field: "conversation.tweets[0].text", says: /expected string/ }
  },
  {
    name: "unparseable created_at",
    doc: conversation([tweet(0, true, ok.customer), tweet(1, false, ok.agent, { created_at: "yesterday around noon" })]),
    expect: { outcome: "dead", field: "conversation.tweets[1].created_at", says: /date/i }
  },
  {
    name: "created_at is a number",
    doc: conversation([tweet(0, true, ok.customer, { created_at: 1_704_103_200 })]),
    expect: { outcome: "dead", field: "conversation.tweets[0].created_at", says: /date/i }
  },
  {
    name: "inbound is a string",
    doc: conversation([tweet(0, true, ok.customer, { inbound: "true" })]),
    expect: { outcome: "dead", field: "conversation.tweets[0].inbound", says: /expected boolean/ }
  },
  {
    name: "5,000 messages",
    doc: conversation(fiveThousand),
    expect: {
      outcome: "analyzed",
      total: FIVE_THOUSAND,
      customer: fiveThousandCustomers,
      agent: FIVE_THOUSAND - fiveThousandCustomers,
      intent: "Order Status"
    }
  },
  {
    name: "1 MB of text in one message",
    doc: conversation([tweet(0, true, ONE_MB_TEXT), tweet(1, false, ok.agent)]),
    expect: { outcome: "analyzed", total: 2, customer: 1, agent: 1, intent: "Order Status" }
  },
  {
    name: "control characters",
    doc: conversation([tweet(0, true, `${CONTROL} ${ok.customer}`), tweet(1, false, `${ok.agent}\u0000\u001b[0m`)]),
    expect: { outcome: "analyzed", total: 2, customer: 1, agent: 1, intent: "Order Status" }
  },
  {
    name: "mixed scripts, emoji and RTL marks",
    doc: conversation([tweet(0, true, MIXED), tweet(1, false, `${MIXED} ${ok.agent}`), tweet(2, true, "شكرا 🙏 谢谢")]),
    expect: { outcome: "analyzed", total: 3, customer: 2, agent: 1, intent: "Order Status" }
  },
  {
    name: "duplicate tweet_ids",
    doc: conversation([
      tweet(7, true, ok.customer, { tweet_id: 7 }),
      tweet(8, false, ok.agent, { tweet_id: 7 }),
      tweet(9, true, "Thanks!", { tweet_id: 7 }),
      tweet(10, false, "You're welcome.", { tweet_id: 7 })
    ]),
    expect: { outcome: "analyzed", total: 4, customer: 2, agent: 2, intent: "Order Status" }
  },
  {
    name: "nulls in every optional field",
    doc: {
      conversation: {
        tweets: [
          tweet(0, true, ok.customer, { tweet_id: null, author_id: null, role: null }),
          tweet(1, false, ok.agent, { tweet_id: null, author_id: null, role: null })
        ],
        classification: null
      },
      sentiment_analysis: null
    },
    expect: { outcome: "analyzed", total: 2, customer: 1, agent: 1, intent: null }
  },
  {
    name: "null labels inside classification and sentiment_analysis",
    doc: {
      conversation: {
        tweets: [tweet(0, true, ok.customer), tweet(1, false, ok.agent)],
        classification: { categorization: null, intent: null, topic: null, sentiment: null }
      },
      sentiment_analysis: { overall_sentiment: null, intent: null, topic: null }
    },
    expect: { outcome: "analyzed", total: 2, customer: 1, agent: 1, intent: null }
  },
  {
    name: "created_at as a Date (BSON date in MongoDB)",
    doc: conversation([
      tweet(0, true, ok.customer, { created_at: new Date("2024-02-03T04:05:06Z") }),
      tweet(1, false, ok.agent, { created_at: new Date("2024-02-03T04:15:06Z") })
    ]),
    expect: { outcome: "analyzed", total: 2, customer: 1, agent: 1, intent: "Order Status", sourceTimestamp: "2024-02-03T04:05:06Z" }
  },
  {
    name: "only agent messages",
    doc: conversation([tweet(0, false, "Hello, can we help you with anything?")]),
    expect: { outcome: "analyzed", total: 1, customer: 0, agent: 1, intent: "Order Status" }
  }
]

export interface CorpusRecord extends SourceRecord {
  readonly name: string
  readonly expect: Expectation
}

/**
 * The corpus interleaved with well-formed conversations in `_id` order (valid, bad, valid, bad,
 * …, valid), returned in a shuffled order so that a store must sort them itself.
 */
export const corpusRecords = (from = 0): ReadonlyArray<CorpusRecord> => {
  const out: Array<CorpusRecord> = []
  let i = from
  const valid = () => {
    const n = i++
    out.push({
      id: oid(n),
      name: `valid #${n}`,
      doc: conversationDoc(n),
      expect: { outcome: "analyzed", total: 3, customer: 2, agent: 1, intent: "Order Status", sourceTimestamp: "2024-01-01T10:00:00Z" }
    })
  }
  valid()
  for (const c of corpus) {
    out.push({ id: oid(i++), name: c.name, doc: c.doc, expect: c.expect })
    valid()
  }
  // A fixed permutation: odd positions first, then even ones backwards.
  return [...out.filter((_, k) => k % 2 === 1), ...out.filter((_, k) => k % 2 === 0).reverse()]
}
