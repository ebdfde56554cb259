/**
 * What an AWS SDK error may say about itself where users and logs read it: its name and HTTP status, never its
 * message (which can quote ARNs, keys and request ids).
 */

/** The HTTP status of an AWS SDK error (undefined for anything else, or no response). */
export function httpStatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** `Name (HTTP 403)` for an AWS SDK error, null for any other error. */
export function sdkErrorSummary(error: unknown): string | null {
  const e = error as (Error & { $metadata?: unknown }) | undefined;
  if (!e?.$metadata) return null;
  const status = httpStatusOf(error);
  return `${e.name}${status ? ` (HTTP ${status})` : ''}`;
}
