import { Context, Layer, type Redacted } from "effect"
import type { ModelPrice } from "../domain/Cost.ts"
import type { Weights } from "../domain/Kpi.ts"
import type { Rubric } from "../domain/Rubric.ts"

export const PROVIDERS = ["heuristic", "anthropic", "aicore"] as const
export type Provider = typeof PROVIDERS[number]
export type LogFormat = "text" | "json"

export type { ModelPrice }

/** Every setting of a run, resolved with the precedence flag > environment > YAML > default. */
export interface JobSettings {
  readonly configPath: string
  readonly mongoUri: Redacted.Redacted<string>
  readonly dbName: string
  readonly mongo: { readonly serverSelectionTimeoutMs: number; readonly socketTimeoutMs: number }
  readonly jobName: string
  /** Minutes between batches. */
  readonly interval: number
  readonly batchSize: number
  readonly maxIterations: number | undefined
  readonly concurrency: number
  readonly retry: { readonly baseDelayMs: number; readonly maxRetries: number }
  /** Undefined: chosen from the credentials that are present. */
  readonly llm: Provider | undefined
  readonly model: string | undefined
  /** `batch`: the Message Batches API (`--llm-mode`). */
  readonly llmMode: "online" | "batch"
  /** Batch mode: minutes between polls of a batch in flight; undefined = `interval`. */
  readonly pollInterval: number | undefined
  readonly llmOptions: {
    readonly maxTokens: number
    readonly timeoutMs: number
    /** Optional fixed upper bound; undefined: the rate adapts to the provider's limits alone. */
    readonly maxRequestsPerMinute: number | undefined
    /** Fewest requests in flight the adaptive limit goes down to (`--concurrency` is the ceiling). */
    readonly minConcurrency: number
    /** K: the same non-retriable error on K requests in a row stops the run. */
    readonly stopAfterSameErrors: number
    readonly aicoreCredentialsPath: string
    readonly aicoreResourceGroup: string
    readonly aicoreDeploymentUrl: string | undefined
    readonly aicoreModel: string
    readonly prices: Readonly<Record<string, ModelPrice>>
    /** `llm.cache_floors`: the smallest cached prefix by model name (longest prefix match); built-in table where none matches. */
    readonly cacheFloors: Readonly<Record<string, number>>
    /** Ask for a reason and evidence per KPI category (`llm.rationales`). */
    readonly rationales: boolean
    /** Show the upstream classifier's labels with the conversation (`llm.show_upstream_labels`). */
    readonly showUpstreamLabels: boolean
  }
  readonly logLevel: string
  readonly logFormat: LogFormat
  readonly logDir: string
  readonly logRetentionDays: number
  readonly healthPort: number | undefined
  readonly healthHost: string
  readonly shutdownGraceMs: number
  /** How long a run lease lasts without renewal (renewed every third of it). */
  readonly leaseTtlMs: number
  /** This process's name in the lease (host:pid:random unless CPA_INSTANCE_ID says otherwise). */
  readonly instanceId: string
  readonly samplesPath: string
  readonly agentConfigPath: string
}

/** The KPI rubric file: sub-factor weights and the texts the model prompt is built from. */
export interface AgentConfig {
  readonly weights: Weights
  readonly rubric: Rubric
}

/** The resolved settings and KPI rubric of this run. */
export class Settings extends Context.Service<Settings, JobSettings & { readonly agent: AgentConfig }>()("cpa/Settings") {
  static readonly layerValue = (settings: JobSettings, agent: AgentConfig) => Layer.succeed(Settings, Settings.of({ ...settings, agent }))
}
