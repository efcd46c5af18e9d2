/**
 * Text helpers the adapters share for what goes into messages: shortening them, and keeping
 * secrets out of them whatever a driver or provider echoed back.
 */

/** `text` cut to at most `max` characters, the last one an ellipsis when it was cut. */
export const truncate = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

/** True for an absolute `http:` or `https:` URL. */
export const isHttpUrl = (text: string): boolean => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol)

/** What replaces a secret in a message. */
export const MASK = "***"

// Authority of a URL-like string: userinfo runs to the last "@" before the host part.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s?#]*)@/gi

/**
 * Replaces the password in the userinfo of every URL in `text` with the mask
 * (`mongodb://app:s3cret@h/` becomes `mongodb://app:***@h/`). A user without a password is kept.
 */
export const redactUri = (text: string): string =>
  text.replace(USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(":")
    return colon === -1 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:${MASK}@`
  })

/** Removes URL passwords and the given secrets (API keys, client secrets, tokens) from a message. */
export const scrub = (text: string, secrets: ReadonlyArray<string> = []): string => {
  let out = redactUri(text)
  // longest first, so that a secret containing another one is replaced whole
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret === "") continue
    // A very short secret would match inside ordinary words ("p" in "password"): replace it
    // only where it stands on its own, which is how a message could carry it.
    out = secret.length >= 4
      ? out.split(secret).join(MASK)
      : out.replace(new RegExp(`(?<![A-Za-z0-9])${secret.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![A-Za-z0-9])`, "g"), MASK)
  }
  return out
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`)

/**
 * `2024-01-01T10:00:00Z`: ISO 8601 to the second. Formatted by hand, twice as fast as
 * `toISOString` (every result needs two); years outside 1000-9999 take the long way.
 */
export const isoSeconds = (d: Date): string => {
  const year = d.getUTCFullYear()
  if (!(year >= 1000 && year <= 9999)) return d.toISOString().replace(/\.\d{3}Z$/, "Z")
  return `${year}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${
    pad2(d.getUTCSeconds())
  }Z`
}
