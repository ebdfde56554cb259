/** CSV encoding of output fields (RFC 4180): null is an empty field, the empty string is `""`. */

/** One CSV line (without the newline). */
export function csvLine(fields: readonly (string | null)[]): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) line += ',';
    const f = fields[i];
    if (f === null) continue;
    line += f === '' || /[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f;
  }
  return line;
}
