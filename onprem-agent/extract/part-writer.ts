/**
 * Builds one gzip CSV part incrementally: lines are joined a thousand at a time and streamed through zlib, so
 * memory holds at most one batch of text plus the compressed part, whatever the part's row count. The output
 * depends only on the lines, which keeps parts byte-identical when a run is resumed.
 */
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';

const BATCH_LINES = 1000;

/** One part being written. */
export class GzipPartWriter {
  /** Data rows added (the header excluded). */
  rows = 0;
  private readonly gzip: Gzip;
  private readonly compressed: Buffer[] = [];
  private batch: string[];

  constructor(header: string) {
    this.gzip = createGzip({ level: 6 });
    this.gzip.on('data', (chunk: Buffer) => this.compressed.push(chunk));
    this.batch = [header];
  }

  /** Adds one CSV line (without its newline). */
  async add(line: string): Promise<void> {
    this.batch.push(line);
    this.rows++;
    if (this.batch.length >= BATCH_LINES) await this.writeBatch();
  }

  /** Ends the part and returns its gzip bytes. */
  async finish(): Promise<Buffer> {
    if (this.batch.length > 0) await this.writeBatch();
    this.gzip.end();
    await finished(this.gzip);
    return Buffer.concat(this.compressed);
  }

  private async writeBatch(): Promise<void> {
    const text = `${this.batch.join('\n')}\n`;
    this.batch = [];
    if (!this.gzip.write(text)) await once(this.gzip, 'drain');
  }
}
