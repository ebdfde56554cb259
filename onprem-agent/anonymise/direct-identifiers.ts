/**
 * Direct identifiers a `keep` column must not carry out of the bank: a column named like one (a name, an e-mail,
 * a phone, a national id, a passport, an IBAN) is refused when the config is read, and the first 10,000 text
 * values of every kept column are checked during the pass for e-mail addresses, phone numbers, national-id-like
 * codes and IBANs. A column reviewed as not identifying says so with `identifier: false` on its policy. Findings
 * name the column, the kind and a count, never a value.
 */

/**
 * Column names that denote a direct identifier, matched on `_`/`-`-separated words in any case: a person's name
 * (`full_name`, `surname`, a column called just `name`; not `product_name`), e-mail, phone, national id, passport,
 * IBAN.
 */
const IDENTIFIER_NAME =
  /(^|[_-])(full[_-]?name|first[_-]?name|last[_-]?name|given[_-]?name|surname|forename|e[_-]?mail|phone|mobile|telephone|national[_-]?id|nino|ssn|passport|iban)([_-]|$)|^((customer|person|client)[_-])?name$/i;

/** Whether a column's name says it holds a direct identifier. */
export function namesDirectIdentifier(column: string): boolean {
  return IDENTIFIER_NAME.test(column);
}

/** Kinds of identifier recognised in values, each with its test. */
const KINDS: ReadonlyArray<readonly [string, (value: string) => boolean]> = [
  ['e-mail addresses', (v) => /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/.test(v)],
  ['phone numbers', (v) => /^(\+|0)/.test(v) && /^\+?\d{10,15}$/.test(v.replace(/[\s().-]/g, ''))],
  [
    'national ids',
    (v) => /^[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2,3}\s?[A-D]?$/i.test(v) || /^[A-Z]{1,2}\d{7,9}[A-Z]$/i.test(v),
  ],
  ['IBANs', (v) => /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(v.replace(/\s/g, ''))],
];

/**
 * Share of a kept column's non-null text values that may look like one kind of identifier before the run is
 * refused (a stray match in free text is not an identifier column; one value in a hundred is).
 */
const MAX_SHARE = 0.01;

/** Values looked at per column: an identifier column shows itself in its first thousands of values. */
const SAMPLE = 10_000;

/** Counts identifier-looking values of the kept columns during a pass. */
export class DirectIdentifierScan {
  private readonly counts: Array<{ column: string; at: number; values: number; matches: number[] }>;

  /** `columns`: the kept columns to scan, with their position in the row. */
  constructor(columns: ReadonlyArray<{ readonly name: string; readonly at: number }>) {
    this.counts = columns.map(({ name, at }) => ({ column: name, at, values: 0, matches: KINDS.map(() => 0) }));
  }

  /** Looks at one source row. */
  add(row: readonly unknown[]): void {
    for (const c of this.counts) {
      const value = row[c.at];
      if (c.values >= SAMPLE || typeof value !== 'string' || value.length === 0 || value.length > 64) continue;
      c.values++;
      for (let k = 0; k < KINDS.length; k++) if (KINDS[k][1](value)) c.matches[k]++;
    }
  }

  /** One line per column and kind above the share, e.g. `email: 312 of 320 values look like e-mail addresses`. */
  findings(): string[] {
    const found: string[] = [];
    for (const c of this.counts) {
      c.matches.forEach((matches, k) => {
        if (matches > 0 && matches >= MAX_SHARE * c.values)
          found.push(`${c.column}: ${matches} of ${c.values} values look like ${KINDS[k][0]}`);
      });
    }
    return found;
  }
}
