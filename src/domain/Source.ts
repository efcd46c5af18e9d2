import { Effect, Schema, SchemaIssue } from "effect"
import { InvalidSourceDocument } from "./Errors.ts"
import { truncate } from "./Text.ts"

const formatIssue = SchemaIssue.makeFormatterDefault()

/** A source document as read from `sentiment_analysis`: its `_id` as 24-char lowercase hex, and the raw body. */
export interface SourceRecord {
  readonly id: string
  readonly doc: unknown
}

const isValidDate = (value: string | Date): boolean =>
  !Number.isNaN((value instanceof Date ? value : new Date(value)).getTime())

const DateInput = Schema.Union([Schema.String, Schema.Date]).check(
  Schema.makeFilter((v: string | Date) => isValidDate(v) || "expected a parseable date")
)

/** One message. Extra fields are allowed; the ones the analysis uses are strict. */
const SourceMessage = Schema.Struct({
  text: Schema.String,
  inbound: Schema.Boolean,
  created_at: DateInput,
  tweet_id: Schema.optionalKey(Schema.Unknown),
  author_id: Schema.optionalKey(Schema.NullOr(Schema.Union([Schema.String, Schema.Number]))),
  role: Schema.optionalKey(Schema.NullOr(Schema.String))
})

const OptionalLabel = Schema.optionalKey(Schema.NullOr(Schema.String))

/** The parts of a `sentiment_analysis` document the job reads. */
export const SourceDocument = Schema.Struct({
  conversation: Schema.Struct({
    tweets: Schema.NonEmptyArray(SourceMessage),
    classification: Schema.optionalKey(Schema.NullOr(Schema.Struct({
      categorization: OptionalLabel,
      intent: OptionalLabel,
      topic: OptionalLabel,
      sentiment: OptionalLabel
    })))
  }),
  sentiment_analysis: Schema.optionalKey(Schema.NullOr(Schema.Struct({
    overall_sentiment: OptionalLabel,
    intent: OptionalLabel,
    topic: OptionalLabel
  })))
})

export interface Message {
  readonly text: string
  /** `true` for the customer, `false` for the agent. */
  readonly inbound: boolean
  readonly createdAt: Date
  readonly authorId: string | undefined
  readonly role: string | undefined
}

/** A decoded conversation: what analyzers score and what results are computed from. */
export interface Conversation {
  readonly sourceId: string
  readonly messages: ReadonlyArray<Message>
  readonly classification: {
    readonly categorization: string | undefined
    readonly intent: string | undefined
    readonly topic: string | undefined
    readonly sentiment: string | undefined
  }
  readonly overallSentiment: string | undefined
}

const decodeDocument = Schema.decodeUnknownEffect(SourceDocument)

const label = (v: string | null | undefined): string | undefined => (v == null || v === "" ? undefined : v)

/** `["conversation"]["tweets"][0]["text"]` → `conversation.tweets[0].text` */
const readablePath = (path: string): string =>
  path.replace(/\["([^"]*)"\]/g, ".$1").replace(/^\./, "")

/**
 * The first problem as the path of the field and one line naming it, e.g.
 * `conversation.tweets[2].inbound: missing` or `conversation.tweets: expected array`.
 */
const firstProblem = (issue: SchemaIssue.Issue): { readonly field: string | undefined; readonly message: string } => {
  const text = formatIssue(issue).split("\n").map((l: string) => l.trim()).filter((l: string) => l.length > 0).join(" ")
  const m = /^(.*) at ((?:\[[^\]]*\])+)$/.exec(text)
  if (m === null) return { field: undefined, message: text }
  const [, what, at] = m
  const field = readablePath(at!)
  if (what === "Missing key" && /\.tweets\[0\]$/.test(field)) {
    const tweets = field.slice(0, -3)
    return { field: tweets, message: `${tweets}: empty (at least one message is needed)` }
  }
  return { field, message: `${field}: ${what === "Missing key" ? "missing" : what!.charAt(0).toLowerCase() + what!.slice(1)}` }
}

/** Decodes a raw source document; anything unusable is an `InvalidSourceDocument` naming the field. */
export const decodeConversation = (record: SourceRecord): Effect.Effect<Conversation, InvalidSourceDocument> =>
  decodeDocument(record.doc).pipe(
    Effect.mapError((error) => {
      const { field, message } = firstProblem(error.issue)
      return new InvalidSourceDocument({ sourceId: record.id, field: field ?? null, message: truncate(message, 300) })
    }),
    Effect.map((doc): Conversation => {
      const c = doc.conversation.classification ?? undefined
      return {
        sourceId: record.id,
        messages: doc.conversation.tweets.map((t) => ({
          text: t.text,
          inbound: t.inbound,
          createdAt: t.created_at instanceof Date ? t.created_at : new Date(t.created_at),
          authorId: t.author_id == null ? undefined : String(t.author_id),
          role: t.role ?? undefined
        })),
        classification: {
          categorization: label(c?.categorization),
          intent: label(c?.intent),
          topic: label(c?.topic),
          sentiment: label(c?.sentiment)
        },
        overallSentiment: label(doc.sentiment_analysis?.overall_sentiment)
      }
    })
  )

/** The creation time encoded in an ObjectId's first four bytes. */
export const objectIdTime = (hex: string): Date => new Date(Number.parseInt(hex.slice(0, 8), 16) * 1000)

export const OBJECT_ID_PATTERN = /^[0-9a-f]{24}$/
