/**
 * Helpers for the end-to-end tests: the CLI as a child process (`node bin/cpa`) against the
 * real test MongoDB server (`inject("mongoUri")`), each test on a database of its own.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Db, MongoClient, ObjectId } from "mongodb"
import { inject } from "vitest"
import YAML from "yaml"
import { DEAD_LETTER_COLLECTION, JOB_STATE_COLLECTION, RESULT_COLLECTION, SOURCE_COLLECTION } from "../../src/domain/Result.ts"
import { loadSourceFile } from "../../src/store/memory/Samples.ts"
import { cleanEnv, REPO, runCli } from "./cli.ts"

export { type Child, cleanEnv, REPO, runCli, runCliChild, startCli } from "./cli.ts"

// ---------------------------------------------------------------------------------------------
// The server

/** The test server's URI, or "" after a loud message (the globalSetup already fails CI runs). */
export const e2eMongoUri = (suite: string): string => {
  const uri = inject("mongoUri")
  if (uri === "") {
    process.stderr.write(
      `\n${"!".repeat(78)}\n!!! ${suite}: NO MONGODB SERVER: THESE END-TO-END TESTS ARE SKIPPED\n${"!".repeat(78)}\n\n`
    )
  }
  return uri
}

export const freshDbName = (): string => `cpa_e2e_${randomBytes(6).toString("hex")}`

export const connect = (uri: string, timeoutMs = 10_000): Promise<MongoClient> =>
  MongoClient.connect(uri, { serverSelectionTimeoutMS: timeoutMs })

export const dropDb = async (uri: string, dbName: string): Promise<void> => {
  const client = await connect(uri, 5_000)
  try {
    await client.db(dbName).dropDatabase()
  } finally {
    await client.close()
  }
}

/** A new directory under `parent` (default: the system's temp directory). */
export const tempDir = (prefix: string, parent = os.tmpdir()): string => fs.mkdtempSync(path.join(parent, `cpa-e2e-${prefix}-`))

// ---------------------------------------------------------------------------------------------
// Source documents

const SAMPLES = path.join(REPO, "samples/sentiment_analysis.json")

const isValidShape = (doc: any): boolean =>
  Array.isArray(doc?.conversation?.tweets) && doc.conversation.tweets.length > 0 &&
  doc.conversation.tweets.every((t: any) =>
    typeof t?.text === "string" && typeof t?.inbound === "boolean" && !Number.isNaN(new Date(t?.created_at).getTime())
  )

const validSamples = (): Array<any> => loadSourceFile(SAMPLES).map((r) => r.doc).filter(isValidShape)

/** Documents the decoder must refuse, one per kind of damage (the name says which). */
export const MALFORMED: ReadonlyArray<readonly [kind: string, make: (valid: any) => object]> = [
  ["no conversation", (v) => ({ sentiment_analysis: v.sentiment_analysis })],
  ["conversation null", (v) => ({ ...v, conversation: null })],
  ["conversation a string", (v) => ({ ...v, conversation: "lost in export" })],
  ["no tweets", (v) => ({ ...v, conversation: { classification: v.conversation.classification } })],
  ["tweets empty", (v) => ({ ...v, conversation: { ...v.conversation, tweets: [] } })],
  ["tweets a string", (v) => ({ ...v, conversation: { ...v.conversation, tweets: "[{...}]" } })],
  ["tweet null", (v) => ({ ...v, conversation: { ...v.conversation, tweets: [null] } })],
  ["tweet without inbound", (v) => ({ ...v, conversation: { ...v.conversation, tweets: v.conversation.tweets.map(({ inbound: _, ...t }: any) => t) } })],
  ["inbound a string", (v) => ({ ...v, conversation: { ...v.conversation, tweets: v.conversation.tweets.map((t: any) => ({ ...t, inbound: "yes" })) } })],
  ["text a number", (v) => ({ ...v, conversation: { ...v.conversation, tweets: v.conversation.tweets.map((t: any) => ({ ...t, text: 42 })) } })],
  ["created_at not a date", (v) => ({ ...v, conversation: { ...v.conversation, tweets: v.conversation.tweets.map((t: any) => ({ ...t, created_at: "yesterday-ish" })) } })],
  ["classification a string", (v) => ({ ...v, conversation: { ...v.conversation, classification: "Delivery" } })],
  ["sentiment_analysis a number", (v) => ({ ...v, sentiment_analysis: 7 })]
]

let lastSecond = 0

export interface Seeded {
  /** Every source id, ascending (the order the job reads them). */
  readonly ids: ReadonlyArray<string>
  readonly validIds: ReadonlyArray<string>
  readonly malformedIds: ReadonlyArray<string>
}

/**
 * Inserts `total` source documents with ObjectId `_id`s, ascending in insertion order: valid
 * sample conversations whose first message names the record (`src-<id>`, for loopbackClaude's counts), and
 * `malformed` of them damaged (cycling through `MALFORMED`), spread over the range.
 */
export const seedSources = async (uri: string, dbName: string, total: number, malformed = 0): Promise<Seeded> => {
  const samples = validSamples()
  // Fixed-width ids (time | random | index) keep `_id` order = index order, and a later call's
  // ids above an earlier call's (its time part is larger).
  lastSecond = Math.max(Math.floor(Date.now() / 1000), lastSecond + 1)
  const prefix = `${lastSecond.toString(16).padStart(8, "0")}${randomBytes(4).toString("hex")}`
  const bad = new Set(Array.from({ length: malformed }, (_, k) => Math.floor(((k + 0.5) * total) / malformed)))
  const docs: Array<Record<string, unknown>> = []
  const ids: Array<string> = []
  const validIds: Array<string> = []
  const malformedIds: Array<string> = []
  let kind = 0
  for (let i = 0; i < total; i++) {
    const id = `${prefix}${i.toString(16).padStart(8, "0")}`
    const sample = structuredClone(samples[i % samples.length])
    sample.conversation.tweets[0].text = `${sample.conversation.tweets[0].text} (ref src-${id})`
    ids.push(id)
    if (bad.has(i)) {
      malformedIds.push(id)
      docs.push({ _id: new ObjectId(id), ...MALFORMED[kind++ % MALFORMED.length]![1](sample) })
    } else {
      validIds.push(id)
      docs.push({ _id: new ObjectId(id), ...sample })
    }
  }
  const client = await connect(uri)
  try {
    await client.db(dbName).collection(SOURCE_COLLECTION).insertMany(docs as never)
  } finally {
    await client.close()
  }
  return { ids, validIds, malformedIds }
}

// ---------------------------------------------------------------------------------------------
// What the database holds

export interface DbView {
  readonly sources: number
  readonly results: number
  readonly openDeadLetters: number
  readonly resolvedDeadLetters: number
  /** Open dead letters by `error.tag`. */
  readonly openByTag: Readonly<Record<string, number>>
  readonly state: any
}

export const withDb = async <A>(uri: string, dbName: string, f: (db: Db) => Promise<A>): Promise<A> => {
  const client = await connect(uri)
  try {
    return await f(client.db(dbName))
  } finally {
    await client.close()
  }
}

export const dbView = (uri: string, dbName: string): Promise<DbView> =>
  withDb(uri, dbName, async (db) => {
    const dls = await db.collection(DEAD_LETTER_COLLECTION).find({}, { projection: { status: 1, "error.tag": 1 } }).toArray()
    const openByTag: Record<string, number> = {}
    for (const d of dls) if (d.status === "open") openByTag[d.error.tag] = (openByTag[d.error.tag] ?? 0) + 1
    return {
      sources: await db.collection(SOURCE_COLLECTION).countDocuments(),
      results: await db.collection(RESULT_COLLECTION).countDocuments(),
      openDeadLetters: dls.filter((d) => d.status === "open").length,
      resolvedDeadLetters: dls.filter((d) => d.status === "resolved").length,
      openByTag,
      state: await db.collection(JOB_STATE_COLLECTION).findOne({ job_name: "conversation_performance_analysis" })
    }
  })

/** Number of result documents (polled while a child runs). */
export const countResults = (client: MongoClient, dbName: string): Promise<number> =>
  client.db(dbName).collection(RESULT_COLLECTION).countDocuments()

// ---------------------------------------------------------------------------------------------
// Settings

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

const merge = (base: unknown, patch: unknown): unknown => {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(patch)) out[k] = merge(base[k], v)
  return out
}

/**
 * Writes a YAML settings file: the repository's `config/periodic_job_config.yaml` (so model
 * prices stay in) with `patch` merged over it, e.g. `{ lease: { ttl_seconds: 4 } }`.
 */
export const writeConfig = (dir: string, patch: Record<string, unknown>, name = "cpa.yaml"): string => {
  const base: unknown = YAML.parse(fs.readFileSync(path.join(REPO, "config/periodic_job_config.yaml"), "utf8"))
  const file = path.join(dir, name)
  fs.writeFileSync(file, YAML.stringify(merge(base, patch)))
  return file
}

/**
 * Settings every e2e run shares: no client-side request limit, short store timeouts, and a
 * short lease, so that a run after a killed one waits seconds (not a minute) for it to expire.
 */
export const E2E_SETTINGS = {
  llm: { max_requests_per_minute: 100_000, timeout_seconds: 60 },
  retry: { base_delay_seconds: 0.05 },
  mongodb: { server_selection_timeout_ms: 5_000 },
  lease: { ttl_seconds: 4 }
}

/** The flags every e2e run takes: server, fresh database, log directory. */
export const dbArgs = (uri: string, dbName: string, logDir: string): Array<string> => [
  "--mongo-uri",
  uri,
  "--db-name",
  dbName,
  "--log-dir",
  logDir
]

/** Environment of a CLI run that talks to the loopback Claude server. */
export const anthropicEnv = (baseUrl: string, extra: Record<string, string> = {}): Record<string, string> =>
  cleanEnv({ ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: baseUrl, ...extra })

/** Every "Records Processed: N" in a run's stdout. */
export const recordsProcessed = (stdout: string): Array<number> =>
  [...stdout.matchAll(/^Records Processed: (\d+)$/gm)].map((m) => Number(m[1]))

/** The value of `Label: value` in a report block (the first one). */
export const reportValue = (stdout: string, label: string): string | undefined =>
  new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: (.*)$`, "m").exec(stdout)?.[1]

export const errorLines = (stderr: string): Array<string> => stderr.split("\n").filter((l) => l.startsWith("error: "))

/**
 * Runs `--single-batch --wait` (in-process; a killed run may have left its lease to expire) until
 * a run processes nothing; returns each run's "Records Processed".
 * Fails on a non-zero exit or after `maxRuns`.
 */
export const drain = async (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly maxRuns?: number; readonly timeoutMs?: number } = {}
): Promise<Array<number>> => {
  const processed: Array<number> = []
  for (let run = 0; run < (options.maxRuns ?? 10); run++) {
    const r = await runCli([...args, "--single-batch", "--wait"], options)
    if (r.code !== 0) throw new Error(`run ${run + 1} exited ${r.code} (${r.signal}):\n${r.stderr}`)
    const n = recordsProcessed(r.stdout)
    if (n.length !== 1) throw new Error(`run ${run + 1}: expected one BATCH RESULTS block, stdout:\n${r.stdout}`)
    processed.push(n[0]!)
    if (n[0] === 0) return processed
  }
  throw new Error(`not drained after ${options.maxRuns ?? 10} runs: ${processed.join(", ")}`)
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `f` until it returns true; fails after `timeoutMs` with `what`. */
export const waitUntil = async (what: string, f: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 100): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** Log lines (logfmt) of a child's stderr with their timestamps. */
export const logLines = (stderr: string, pattern: RegExp): Array<{ readonly at: number; readonly line: string }> =>
  stderr.split("\n").filter((l) => pattern.test(l)).map((line) => ({
    at: Date.parse(/timestamp=(\S+)/.exec(line)?.[1] ?? ""),
    line
  }))
