/**
 * `mlp predict`: offline batch scoring of a headerless CSV (one row of features per line; empty or `NaN`
 * means missing) with a model file. Prints one line per row: the prediction, or the K class values
 * comma-separated; `--margin` prints raw margins. Streams, so files of any size work.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { readModel } from '../../lambdas/xgboost/read-model';
import { UsageError } from '../usage-error';

const BATCH_ROWS = 4096;

/** Registers `mlp predict`. */
export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('score a headerless CSV with a model file, one output line per row')
    .requiredOption('--model <path>', 'model.tar.gz, xgboost-model, .json or .ubj')
    .requiredOption('--input <file>', 'headerless CSV of feature values (empty or NaN = missing)')
    .option('--margin', 'print raw margins instead of transformed predictions')
    .action(async (options: { model: string; input: string; margin?: boolean }) => {
      const predictor = new Predictor(readModel(readFileSync(options.model)));
      await predictCsv(predictor, options.input, options.margin === true, (text) => process.stdout.write(text));
    });
}

/** Scores every line of `input`, handing output text to `write` batch by batch. */
export async function predictCsv(
  predictor: Predictor,
  input: string,
  margin: boolean,
  write: (text: string) => void,
): Promise<number> {
  const width = predictor.numFeature;
  const rows = new Float32Array(BATCH_ROWS * width);
  const groups = margin ? predictor.numGroup : predictor.outputWidth;
  const margins = new Float32Array(BATCH_ROWS * predictor.numGroup);
  const outputs = new Float64Array(BATCH_ROWS * predictor.outputWidth);
  let pending = 0;
  let lineNumber = 0;
  let total = 0;
  const flush = () => {
    if (pending === 0) return;
    const x = rows.subarray(0, pending * width);
    const values = margin ? predictor.predictMargin(x, pending, margins) : predictor.predict(x, pending, outputs);
    const lines: string[] = [];
    for (let r = 0; r < pending; r++) {
      const row: string[] = [];
      for (let k = 0; k < groups; k++) row.push(String(values[r * groups + k]));
      lines.push(row.join(','));
    }
    write(lines.join('\n') + '\n');
    total += pending;
    pending = 0;
  };
  const lines = createInterface({ input: createReadStream(input), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    const fields = line.split(',');
    if (fields.length !== width) {
      throw new UsageError(`${input} line ${lineNumber}: ${fields.length} fields, the model expects ${width}`);
    }
    const offset = pending * width;
    for (let j = 0; j < width; j++) {
      const field = fields[j].trim();
      if (field === '' || field === 'NaN' || field === 'nan') {
        rows[offset + j] = Number.NaN;
        continue;
      }
      const value = Number(field);
      if (!Number.isFinite(value) || !Number.isFinite(Math.fround(value))) {
        throw new UsageError(`${input} line ${lineNumber} column ${j + 1}: not a finite float32 number`);
      }
      rows[offset + j] = value;
    }
    if (++pending === BATCH_ROWS) flush();
  }
  flush();
  return total;
}
