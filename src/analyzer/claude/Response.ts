import { Effect, Schema, SchemaIssue } from "effect"
import { ModelOutputInvalid } from "../../domain/Errors.ts"
import { KpiScores, type Usage } from "../../domain/Kpi.ts"
import type { Analysis } from "../../services/Analyzer.ts"
import { TOOL_NAME } from "./Request.ts"

/** Decoding a Messages answer into scores: the forced tool's input, checked against `KpiScores`. */

const NullableInt = Schema.optionalKey(Schema.NullOr(Schema.Finite))

const MessagesResponse = Schema.Struct({
  model: Schema.optionalKey(Schema.NullOr(Schema.String)),
  stop_reason: Schema.optionalKey(Schema.NullOr(Schema.String)),
  content: Schema.Array(Schema.Unknown),
  usage: Schema.optionalKey(Schema.NullOr(Schema.Struct({
    input_tokens: NullableInt,
    output_tokens: NullableInt,
    cache_creation_input_tokens: NullableInt,
    cache_read_input_tokens: NullableInt
  })))
})

const ToolUseBlock = Schema.Struct({ type: Schema.Literal("tool_use"), name: Schema.String, input: Schema.Unknown })
const isToolUse = Schema.is(ToolUseBlock)

const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/** The first problem of a failed decode, as a dotted field path and a message. */
const firstIssue = (issue: SchemaIssue.Issue): { readonly field: string; readonly message: string } => {
  const first = formatIssue(issue).issues[0]
  const path = first?.path ?? []
  const field = path.length === 0 ? "input" : path.map((p) => String(typeof p === "object" ? p.key : p)).join(".")
  return { field, message: first?.message ?? "invalid" }
}

const toUsage = (u: typeof MessagesResponse.Type["usage"]): Usage => ({
  input_tokens: u?.input_tokens ?? 0,
  output_tokens: u?.output_tokens ?? 0,
  cache_creation_input_tokens: u?.cache_creation_input_tokens ?? 0,
  cache_read_input_tokens: u?.cache_read_input_tokens ?? 0
})

/**
 * Decodes a Messages answer into an `Analysis`. A missing tool call, a missing field or a value
 * out of range is a `ModelOutputInvalid` naming the first offending field (retriable).
 * `model` is the one the answer reports, else `configuredModel` (AI Core answers may omit it).
 */
export const decodeAnalysis = (raw: unknown, configuredModel: string): Effect.Effect<Analysis, ModelOutputInvalid> =>
  Effect.gen(function*() {
    const response = yield* Schema.decodeUnknownEffect(MessagesResponse)(raw).pipe(
      Effect.mapError((e) => {
        const { field, message } = firstIssue(e.issue)
        return new ModelOutputInvalid({ field: `response.${field}`, message: `the answer is not a Messages response: ${message}` })
      })
    )
    const block = response.content.find((b) => isToolUse(b) && b.name === TOOL_NAME)
    if (block === undefined || !isToolUse(block)) {
      const hint = response.stop_reason === "max_tokens" ? " (stopped at max_tokens: raise llm.max_tokens)" : ""
      return yield* new ModelOutputInvalid({
        field: "tool_use",
        message: `the answer has no ${TOOL_NAME} tool call; stop_reason ${response.stop_reason ?? "missing"}${hint}`
      })
    }
    const scores = yield* Schema.decodeUnknownEffect(KpiScores)(block.input).pipe(
      Effect.mapError((e) => new ModelOutputInvalid(firstIssue(e.issue)))
    )
    const model = typeof response.model === "string" && response.model !== "" ? response.model : configuredModel
    return { scores, model, usage: toUsage(response.usage) }
  })
