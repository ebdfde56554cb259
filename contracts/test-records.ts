/**
 * The held-out test split as Prepare writes it (`test/records.jsonl` in the curated bucket): one JSON object per
 * line, `{"label": 0 | 1, "record": {feature: value | null, …}, "key": pseudonymous key}`. Evaluate scores each candidate and the champion
 * on these records (each under its own feature spec); the demo scores a few of them through the local scorer.
 */

/** One held-out record and its outcome. */
export interface TestRecord {
  readonly label: number;
  readonly record: Readonly<Record<string, string | number | null>>;
  /** The loan's pseudonymous key (absent in files written before keys were kept). */
  readonly key?: string;
}

/** The file's text: one record per line. */
export function encodeTestRecords(records: readonly TestRecord[]): string {
  return (
    records
      .map((r) =>
        JSON.stringify(
          r.key === undefined ? { label: r.label, record: r.record } : { label: r.label, record: r.record, key: r.key },
        ),
      )
      .join('\n') + '\n'
  );
}

/** Parses the file's text (the first `limit` records, all by default). */
export function parseTestRecords(text: string, limit = Number.POSITIVE_INFINITY): TestRecord[] {
  const records: TestRecord[] = [];
  for (const line of text.split('\n')) {
    if (records.length >= limit) break;
    if (line.length === 0) continue;
    const parsed = JSON.parse(line) as Partial<TestRecord>;
    if (typeof parsed.label !== 'number' || parsed.record === null || typeof parsed.record !== 'object') {
      throw new Error(`test record ${records.length + 1} is not {"label": number, "record": {...}}`);
    }
    records.push(parsed as TestRecord);
  }
  return records;
}
