import { Effect, Schema, SchemaIssue } from "effect"
import { AnalyzerError, ModelOutputInvalid } from "../../domain/Errors.ts"
import { type Category, KpiScores, type Usage } from "../../domain/Kpi.ts"
import { checkRationale, type ProposedEvidence, type ProposedRationale } from "../../domain/Rationale.ts"
import type { Conversation } from "../../domain/Source.ts"
import type { Analysis } from "../../services/Analyzer.ts"
import { RATIONALE_FIELD, TOOL_NAME } from "./Request.ts"

/**
 * Decoding a Messages answer: the forced tool's input, the scores checked against `KpiScores`
 * and the rationale's evidence checked against the conversation.
 */

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

const NonBlank = Schema.String.check(Schema.makeFilter((s: string) => s.trim() !== "" || "a non-blank text"))

/**
 * The rationale as the model may write it. A category without a reason is invalid output; an
 * evidence item of the wrong shape is not: it is dropped and counted like a quote that fails
 * the check.
 */
const RawCategory = Schema.Struct({ reason: NonBlank, evidence: Schema.Array(Schema.Unknown) })
const RawRationale = Schema.Struct({
  accuracy_compliance: RawCategory,
  empathy_communication: RawCategory,
  efficiency_resolution: RawCategory
})

const EvidenceItem = Schema.Struct({ message: Schema.Finite, quote: Schema.String })
const isEvidenceItem = Schema.is(EvidenceItem)

const proposedFrom = (raw: typeof RawRationale.Type): { readonly proposed: ProposedRationale; readonly malformed: number } => {
  let malformed = 0
  const category = (c: Category) => {
    const evidence: Array<ProposedEvidence> = []
    for (const e of raw[c].evidence) {
      if (isEvidenceItem(e)) evidence.push({ message: e.message, quote: e.quote })
      else malformed++
    }
    return { reason: raw[c].reason, evidence }
  }
  const proposed = {
    accuracy_compliance: category("accuracy_compliance"),
    empathy_communication: category("empathy_communication"),
    efficiency_resolution: category("efficiency_resolution")
  }
  return { proposed, malformed }
}

/**
 * Decodes a Messages answer into an `Analysis`. A missing tool call, a missing field or a value
 * out of range is a `ModelOutputInvalid` naming the first offending field (retriable).
 * `model` is the one the answer reports, else `configuredModel` (AI Core answers may omit it).
 */
export const decodeAnalysis = (
  raw: unknown,
  configuredModel: string,
  /** With a conversation, the tool input's rationale is required and its evidence checked against it. */
  rationaleOf?: Conversation
): Effect.Effect<Analysis, ModelOutputInvalid | AnalyzerError> =>
  Effect.gen(function*() {
    const response = yield* Schema.decodeUnknownEffect(MessagesResponse)(raw).pipe(
      Effect.mapError((e) => {
        const { field, message } = firstIssue(e.issue)
        return new ModelOutputInvalid({ field: `response.${field}`, message: `the answer is not a Messages response: ${message}` })
      })
    )
    // Both repeat on a retry of the same request: a dead letter with its own reason, at once.
    if (response.stop_reason === "max_tokens") {
      return yield* new AnalyzerError({
        reason: "MaxTokens",
        message: "the answer stopped at max_tokens before the scores were complete: raise llm.max_tokens (or set llm.rationales: false)"
      })
    }
    if (response.stop_reason === "refusal") {
      return yield* new AnalyzerError({ reason: "Refusal", message: "the model declined to score this conversation (stop_reason refusal)" })
    }
    const block = response.content.find((b) => isToolUse(b) && b.name === TOOL_NAME)
    if (block === undefined || !isToolUse(block)) {
      return yield* new ModelOutputInvalid({
        field: "tool_use",
        message: `the answer has no ${TOOL_NAME} tool call; stop_reason ${response.stop_reason ?? "missing"}`
      })
    }
    const scores = yield* Schema.decodeUnknownEffect(KpiScores)(block.input).pipe(
      Effect.mapError((e) => new ModelOutputInvalid(firstIssue(e.issue)))
    )
    const model = typeof response.model === "string" && response.model !== "" ? response.model : configuredModel
    if (rationaleOf === undefined) return { scores, model, usage: toUsage(response.usage) }
    const rawRationale = yield* Schema.decodeUnknownEffect(RawRationale)((block.input as Record<string, unknown>)[RATIONALE_FIELD]).pipe(
      Effect.mapError((e) => {
        const { field, message } = firstIssue(e.issue)
        return new ModelOutputInvalid({ field: field === "input" ? RATIONALE_FIELD : `${RATIONALE_FIELD}.${field}`, message })
      })
    )
    const { malformed, proposed } = proposedFrom(rawRationale)
    const checked = checkRationale(rationaleOf, proposed)
    return { scores, model, usage: toUsage(response.usage), rationale: checked.rationale, evidenceDropped: checked.dropped + malformed }
  })
