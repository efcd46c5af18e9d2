import {
  MongoBulkWriteError,
  MongoError,
  MongoMissingCredentialsError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoOperationTimeoutError,
  MongoParseError,
  MongoServerError,
  MongoServerSelectionError
} from "mongodb"
import { Effect, Schema, SchemaIssue } from "effect"
import { StoreError, type StoreErrorReason } from "../../domain/Errors.ts"
import { scrub } from "../../domain/Text.ts"

/**
 * The one place where MongoDB driver errors become `StoreError`s. Whether a failure is worth
 * retrying is decided here (from the error class, server code and error labels), and every
 * message is scrubbed of passwords before it leaves this module.
 */

const AUTHENTICATION_FAILED = 18
const UNAUTHORIZED = 13
const NOT_IMPLEMENTED = 238
const DUPLICATE_KEY_CODES: ReadonlySet<number> = new Set([11000, 11001, 12582])

const TIMEOUT_CODES: ReadonlySet<number> = new Set([
  50, // MaxTimeMSExpired
  89, // NetworkTimeout
  262 // ExceededTimeLimit
])

/** Server codes of a node that cannot serve right now (failover, shutdown, network): retry. */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  91, // ShutdownInProgress
  134, // ReadConcernMajorityNotAvailableYet
  189, // PrimarySteppedDown
  9001, // SocketException
  10058, // LegacyNotPrimary
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436 // NotPrimaryOrSecondary
])

/** Labels the server or driver puts on errors that a later attempt may not meet. */
const UNAVAILABLE_LABELS: ReadonlyArray<string> = [
  "RetryableWriteError",
  "RetryableError",
  "ResetPool",
  "PoolRequestedRetry",
  "InterruptInUseConnections",
  "SystemOverloadedError",
  "TransientTransactionError"
]

const LEGACY_NOT_PRIMARY = /not master|node is recovering/i

const serverCode = (error: MongoError): number | undefined => (typeof error.code === "number" ? error.code : undefined)

const codeName = (error: MongoError): string | undefined =>
  error instanceof MongoServerError && typeof error.codeName === "string" ? error.codeName : undefined

/** True for E11000 duplicate key errors (a unique index refused a write). */
export const isDuplicateKey = (error: unknown): boolean =>
  error instanceof MongoError && DUPLICATE_KEY_CODES.has(serverCode(error) ?? -1)

/**
 * Runs an upserting write once more when it lost an insert race (E11000): the document the
 * other writer inserted now exists, so the second try updates it instead.
 */
export const upsertWithRetryOnDuplicate = async <A>(write: () => Promise<A>): Promise<A> => {
  try {
    return await write()
  } catch (error) {
    if (!isDuplicateKey(error)) throw error
    return await write()
  }
}

/** True when the server does not implement the command or option (FerretDB answers code 238). */
export const isNotImplemented = (error: unknown): boolean =>
  error instanceof MongoServerError && (error.code === NOT_IMPLEMENTED || error.codeName === "NotImplemented")

/** True when the user lacks the privilege for the command (code 13). */
export const isUnauthorized = (error: unknown): boolean =>
  error instanceof MongoServerError && (error.code === UNAUTHORIZED || error.codeName === "Unauthorized")

/** True when the collection or database does not exist (listIndexes on a new collection). */
export const isNamespaceNotFound = (error: unknown): boolean =>
  error instanceof MongoServerError && (error.code === 26 || error.codeName === "NamespaceNotFound")

export const writeErrorsOf = (error: MongoBulkWriteError): ReadonlyArray<{ readonly code: number; readonly index: number }> => {
  const errors: unknown = error.writeErrors
  return (Array.isArray(errors) ? errors : errors === undefined ? [] : [errors]) as ReadonlyArray<{ readonly code: number; readonly index: number }>
}

const classify = (error: MongoError): StoreErrorReason => {
  const code = serverCode(error)
  const name = codeName(error)
  if (code === AUTHENTICATION_FAILED || name === "AuthenticationFailed" || error instanceof MongoMissingCredentialsError) {
    return "Authentication"
  }
  if (code === UNAUTHORIZED || name === "Unauthorized") return "Authorization"
  if (
    error instanceof MongoNetworkTimeoutError || error instanceof MongoOperationTimeoutError ||
    (code !== undefined && TIMEOUT_CODES.has(code))
  ) {
    return "Timeout"
  }
  if (
    error instanceof MongoNetworkError || error instanceof MongoServerSelectionError ||
    (code !== undefined && UNAVAILABLE_CODES.has(code)) ||
    UNAVAILABLE_LABELS.some((label) => error.hasErrorLabel(label)) ||
    LEGACY_NOT_PRIMARY.test(error.message)
  ) {
    return "Unavailable"
  }
  if (error instanceof MongoParseError) return "Invalid"
  // A bulk write that failed as a whole with no server answer (no code, no per-write errors)
  // lost its connection: the driver wraps the network error and drops its class and labels.
  if (error instanceof MongoBulkWriteError && code === undefined && writeErrorsOf(error).length === 0) return "Unavailable"
  return "Unknown"
}

/** The connection-string parser (mongodb-connection-string-url) throws its own `MongoParseError`, not a `MongoError`. */
const isForeignParseError = (cause: unknown): cause is Error => cause instanceof Error && cause.name === "MongoParseError"

const explain = (reason: StoreErrorReason, detail: string): string => {
  switch (reason) {
    case "Authentication":
      return `MongoDB authentication failed: check the user name, password and authSource of the connection string (${detail})`
    case "Authorization":
      return `MongoDB refused the operation: the user lacks the privilege (${detail})`
    case "Timeout":
      return `MongoDB did not answer in time (${detail})`
    case "Unavailable":
      return `MongoDB is unavailable (${detail})`
    case "Invalid":
      return `invalid MongoDB connection string or argument (${detail})`
    default:
      return `MongoDB error (${detail})`
  }
}

/** The password of a connection string, raw and percent-decoded, for scrubbing messages. */
export const uriSecrets = (uri: string): ReadonlyArray<string> => {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/\s?#]*)@/i.exec(uri)
  const userinfo = match?.[1]
  if (userinfo === undefined) return []
  const colon = userinfo.indexOf(":")
  if (colon === -1) return []
  const raw = userinfo.slice(colon + 1)
  if (raw === "") return []
  let decoded = raw
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    // a malformed escape: only the raw form can appear in messages
  }
  return decoded === raw ? [raw] : [raw, decoded]
}

const detailOf = (error: MongoError): string => {
  const code = serverCode(error)
  const name = codeName(error)
  const suffix = code === undefined ? "" : name === undefined ? ` [code ${code}]` : ` [code ${code} ${name}]`
  return `${error.name}: ${error.message.replace(/\s*[\r\n]+\s*/g, " ")}${suffix}`
}

/**
 * Translates anything a driver call threw into a `StoreError` for `operation`
 * (`"ConversationStore.upsertResult"`), scrubbing URL passwords and `secrets` from the message.
 */
export const toStoreError = (operation: string, cause: unknown, secrets: ReadonlyArray<string> = []): StoreError => {
  if (cause instanceof StoreError) return cause
  if (cause instanceof MongoError) {
    const reason = classify(cause)
    return new StoreError({ reason, operation, message: scrub(explain(reason, detailOf(cause)), secrets) })
  }
  const reason: StoreErrorReason = isForeignParseError(cause) ? "Invalid" : "Unknown"
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
  return new StoreError({ reason, operation, message: scrub(explain(reason, detail), secrets) })
}

const formatIssue = SchemaIssue.makeFormatterDefault()

/**
 * Decodes a document read from MongoDB; one that does not match the schema fails with a
 * `StoreError` of reason `Invalid` that names the document and the offending field.
 */
export const decodeStored = <S extends Schema.ConstraintDecoder<unknown>>(schema: S, operation: string, what: string) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return (doc: unknown): Effect.Effect<S["Type"], StoreError> =>
    decode(doc).pipe(
      Effect.mapError((error) =>
        new StoreError({
          reason: "Invalid",
          operation,
          message: `${what} does not have the expected shape: ${
            formatIssue(error.issue).split("\n").map((l) => l.trim()).filter((l) => l !== "").join(" ").slice(0, 500)
          }`
        })
      )
    )
}
