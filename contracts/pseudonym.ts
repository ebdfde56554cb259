/**
 * The form of a pseudonymous key as the on-prem agent writes it (HMAC-SHA256, lowercase hex): the scorer
 * captures only keys of this form with a prediction, so a raw customer identifier cannot reach the capture bucket.
 */
export const PSEUDONYM_PATTERN = /^[0-9a-f]{64}$/;
