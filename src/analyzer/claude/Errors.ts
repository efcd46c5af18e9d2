import { APIConnectionError, APIConnectionTimeoutError, APIError } from "@anthropic-ai/sdk"
import { Predicate } from "effect"
import { AnalyzerError, type AnalyzerErrorReason } from "../../domain/Errors.ts"
import { scrub, truncate } from "../../domain/Text.ts"

/**
 * The one place a provider failure becomes an `AnalyzerError`, and so a severity: HTTP status
 * and error type, `retry-after`, transport failures, and whatever the SDK threw.
 */

/** `retry-after-ms`, else `retry-after` (seconds or an HTTP date), in milliseconds. */
export const retryAfterMs = (headers: Headers | undefined, now: number = Date.now()): number | undefined => {
  const ms = headers?.get("retry-after-ms")
  if (ms != null && ms.trim() !== "" && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms)
  const value = headers?.get("retry-after")?.trim()
  if (value == null || value === "") return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** `x-should-retry: true|false`, the API's own word on whether a retry can help; absent: undefined. */
export const shouldRetryOf = (headers: Headers | undefined): boolean | undefined => {
  const value = headers?.get("x-should-retry")?.trim().toLowerCase()
  return value === "true" ? true : value === "false" ? false : undefined
}

/** The provider's own words from an error body: Anthropic, Bedrock, AI Core and OAuth shapes. */
export const providerMessage = (body: unknown): { readonly message: string | undefined; readonly type: string | undefined } => {
  if (typeof body === "string") return { message: body.trim() === "" ? undefined : body.trim(), type: undefined }
  if (!Predicate.isObject(body)) return { message: undefined, type: undefined }
  const b = body as Record<string, unknown>
  const e = b.error
  if (Predicate.isObject(e)) {
    const eo = e as Record<string, unknown>
    return {
      message: typeof eo.message === "string" ? eo.message : undefined,
      type: typeof eo.type === "string" ? eo.type : typeof eo.code === "string" ? eo.code : undefined
    }
  }
  if (typeof b.error_description === "string") return { message: b.error_description, type: typeof e === "string" ? e : undefined }
  if (typeof b.message === "string") return { message: b.message, type: typeof e === "string" ? e : undefined }
  if (typeof e === "string") return { message: e, type: undefined }
  return { message: undefined, type: undefined }
}

const reasonOfStatus = (status: number, type: string | undefined): AnalyzerErrorReason => {
  // A billing block fails every record alike: stop the run rather than dead-letter the backlog.
  if (type === "billing_error" || status === 402) return "Forbidden"
  switch (status) {
    case 400:
      return "BadRequest"
    case 401:
      return "Unauthorized"
    case 403:
      return "Forbidden"
    case 404:
      return "NotFound"
    case 408:
      return "Timeout"
    case 413:
      return "TooLarge"
    case 422:
      return "Unprocessable"
    case 429:
      return "RateLimited"
    case 529:
      return "Overloaded"
  }
  return status >= 500 && status <= 599 ? "ServerError" : "Unknown"
}

/** The longest provider message kept in an `AnalyzerError`. */
const MAX_MESSAGE = 500

export interface ClassifyContext {
  /** Who answered, for the message: "Anthropic API", "SAP AI Core". */
  readonly provider: string
  /** Values that must never appear in a message (API key, client secret, token). */
  readonly secrets: ReadonlyArray<string>
  readonly now?: number
}

/** The one place an HTTP error status becomes an `AnalyzerError` (and so a severity). */
export const classifyStatus = (
  status: number,
  headers: Headers | undefined,
  body: unknown,
  ctx: ClassifyContext
): AnalyzerError => {
  const { message, type } = providerMessage(body)
  const reason = reasonOfStatus(status, type)
  const text = `${ctx.provider} answered ${status}${type !== undefined ? ` ${type}` : ""}${message !== undefined ? `: ${message}` : ""}`
  const wait = reason === "RateLimited" || reason === "Overloaded" || reason === "ServerError"
    ? retryAfterMs(headers, ctx.now)
    : undefined
  const shouldRetry = shouldRetryOf(headers)
  return new AnalyzerError({
    reason,
    message: truncate(scrub(text, ctx.secrets), MAX_MESSAGE),
    status,
    ...(type !== undefined ? { type } : {}),
    ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    ...(shouldRetry !== undefined ? { shouldRetry } : {})
  })
}

/** A request that got no HTTP answer: the timeout, or a connection that failed. */
export const transportError = (reason: "Timeout" | "Connection", detail: string, ctx: ClassifyContext): AnalyzerError =>
  new AnalyzerError({
    reason,
    message: truncate(scrub(`${ctx.provider}: ${reason === "Timeout" ? "request timed out" : "connection failed"}${detail !== "" ? ` (${detail})` : ""}`, ctx.secrets), MAX_MESSAGE)
  })

/** Node's reason for a failed connection (`ECONNREFUSED`, …), without the URL or headers. */
const causeText = (e: unknown): string => {
  const cause = (e as { cause?: unknown }).cause
  if (!(cause instanceof Error)) return ""
  const code = (cause as { code?: unknown }).code ?? ((cause.cause as { code?: unknown } | undefined)?.code)
  return typeof code === "string" ? code : cause.message
}

/** Classifies whatever `@anthropic-ai/sdk` threw. */
export const classifySdkError = (e: unknown, ctx: ClassifyContext): AnalyzerError => {
  if (e instanceof APIConnectionTimeoutError) return transportError("Timeout", "", ctx)
  if (e instanceof APIConnectionError) return transportError("Connection", causeText(e), ctx)
  if (e instanceof APIError && typeof e.status === "number") return classifyStatus(e.status, e.headers, e.error, ctx)
  const text = e instanceof Error ? e.message : String(e)
  return new AnalyzerError({ reason: "Unknown", message: truncate(scrub(`${ctx.provider}: ${text}`, ctx.secrets), MAX_MESSAGE) })
}
