import { Config } from "effect"

/**
 * Where Claude's credentials come from. Their own module, free of the SDK, so that choosing a
 * provider (`AnalyzerProvider.chooseProvider`) does not load the Claude adapters.
 */

/** `ANTHROPIC_API_KEY`, if set (an empty value counts as unset). */
export const apiKeyConfig = Config.option(Config.Redacted("ANTHROPIC_API_KEY"))

/** `AICORE_SERVICE_KEY`: SAP AI Core's service key as JSON, if set (else the credentials file is read). */
export const serviceKeyConfig = Config.option(Config.Redacted("AICORE_SERVICE_KEY"))
