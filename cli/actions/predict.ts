/** `mlp predict`: streams a CSV through the predictor, batch by batch, so files of any size work. */
import { createWriteStream, type ReadStream, readFileSync, renameSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { type FeatureSpec, FeatureSpecError, parseFeatureSpec, specColumns } from '../../lambdas/features/feature-spec';
import { RecordError, Vectorizer } from '../../lambdas/features/vectorizer';
import { Predictor } from '../../lambdas/xgboost/predictor';
import { ModelFormatError } from '../../lambdas/xgboost/model-error';
import { readModel } from '../../lambdas/xgboost/read-model';
import type { TreeEnsemble } from '../../lambdas/xgboost/tree-ensemble';
import { TreeShap } from '../../lambdas/xgboost/tree-shap';
import { UsageError } from '../../terminal/errors';
import { namedRecords, openInput } from './csv-records';
import { CommandOutput } from '../../terminal/output';

/** Options of `mlp predict`. */
export interface PredictOptions {
  readonly model: string;
  readonly input: string;
  readonly spec?: string;
  readonly margin?: boolean;
  readonly contribs?: boolean;
  readonly output?: string;
  readonly json?: boolean;
}

const BATCH_ROWS = 4096;

/** Receives each batch's output values, `width` per row. */
type BatchSink = (values: ArrayLike<number>, rows: number, width: number) => void;

/** What each row becomes: `width` values computed from a batch of `rows` vectors. */
interface RowOutput {
  readonly width: number;
  compute(x: Float32Array, rows: number): ArrayLike<number>;
}

/** `mlp predict`. */
export async function predict(options: PredictOptions): Promise<void> {
  if (options.margin && options.contribs) throw new UsageError('give --margin or --contribs, not both');
  const model = readModel(readFileSync(options.model));
  const predictor = new Predictor(model);
  const spec = options.spec ? readSpec(options.spec) : undefined;
  const margin = options.margin === true;
  const output = rowOutput(model, predictor, options);
  const input = await openInput(options.input);
  const out = new CommandOutput(options);
  const header = spec ? headerOf(spec, predictor, options).map(csvField) : undefined;
  const started = Date.now();

  // Predictions as JSON on stdout: collected, printed whole once every row scored (a failure prints no half document).
  if (options.json && !options.output) {
    const predictions: (number | number[])[] = [];
    const rows = await scoreFile(predictor, spec, input, options.input, output, (values, n, w) => {
      for (let r = 0; r < n; r++) {
        predictions.push(w === 1 ? values[r] : Array.from({ length: w }, (_, k) => values[r * w + k]));
      }
    });
    out.result(
      { rows, margin, contribs: options.contribs === true, predictions },
      { human: () => JSON.stringify(predictions) }, // --json: never human
    );
    return;
  }

  // CSV: streamed to stdout, or to a temporary file renamed into place once complete.
  const partial = options.output ? `${options.output}.partial-${process.pid}` : undefined;
  const stream = partial ? createWriteStream(partial) : process.stdout;
  const write = (text: string) => {
    if (!stream.write(text) && partial) return once(stream, 'drain');
    return undefined;
  };
  // The header goes out with the first rows (or alone at the end): a refused header writes nothing.
  let headerLine = header ? `${header.join(',')}\n` : '';
  try {
    let pending: Promise<unknown> | undefined;
    const rows = await scoreFile(
      predictor,
      spec,
      input,
      options.input,
      output,
      (values, n, w) => {
        const lines: string[] = [];
        for (let r = 0; r < n; r++) {
          const row: string[] = [];
          for (let k = 0; k < w; k++) row.push(String(values[r * w + k]));
          lines.push(row.join(','));
        }
        pending = write(`${headerLine}${lines.join('\n')}\n`);
        headerLine = '';
      },
      () => pending,
    );
    if (headerLine) await write(headerLine);
    if (!partial) return;
    await new Promise<void>((done, fail) =>
      (stream as NodeJS.WritableStream).end((error?: Error | null) => (error ? fail(error) : done())),
    );
    renameSync(partial, options.output!);
    out.result(
      { rows, output: options.output, margin, seconds: (Date.now() - started) / 1000 },
      { human: (r) => `scored ${r.rows} rows into ${r.output} in ${r.seconds.toFixed(1)} s` },
    );
  } catch (error) {
    input.destroy();
    if (partial) {
      (stream as NodeJS.WritableStream & { destroy(): void }).destroy();
      rmSync(partial, { force: true });
    }
    throw error;
  }
}

/** Predictions, margins, or TreeSHAP contributions (XGBoost's pred_contribs layout) per row. */
function rowOutput(model: TreeEnsemble, predictor: Predictor, options: PredictOptions): RowOutput {
  if (options.contribs) {
    let shap: TreeShap;
    try {
      shap = new TreeShap(model);
    } catch (error) {
      if (error instanceof ModelFormatError) throw new UsageError(`${options.model}: ${error.message}`);
      throw error;
    }
    const width = (model.numFeature + 1) * model.numGroup;
    const values = new Float64Array(BATCH_ROWS * width);
    return {
      width,
      compute: (x, rows) => {
        for (let r = 0; r < rows; r++) {
          values.set(shap.contributions(x.subarray(r * model.numFeature, (r + 1) * model.numFeature)), r * width);
        }
        return values.subarray(0, rows * width);
      },
    };
  }
  if (options.margin) {
    const margins = new Float32Array(BATCH_ROWS * predictor.numGroup);
    return { width: predictor.numGroup, compute: (x, rows) => predictor.predictMargin(x, rows, margins) };
  }
  const outputs = new Float64Array(BATCH_ROWS * predictor.outputWidth);
  return { width: predictor.outputWidth, compute: (x, rows) => predictor.predict(x, rows, outputs) };
}

/** A CSV field: quoted when it holds a comma, a quote or a line break (category names are free text). */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The output's header line: one name per value. */
function headerOf(spec: FeatureSpec, predictor: Predictor, options: PredictOptions): string[] {
  const { model } = predictor;
  if (options.contribs) {
    const columns = [...specColumns(spec), 'bias'];
    if (model.numGroup === 1) return columns;
    return Array.from({ length: model.numGroup }, (_, k) => columns.map((c) => `class_${k}:${c}`)).flat();
  }
  const width = options.margin ? model.numGroup : predictor.outputWidth;
  if (width === 1) return [options.margin ? 'margin' : 'prediction'];
  return Array.from({ length: width }, (_, k) => `${options.margin ? 'margin' : 'class'}_${k}`);
}

function readSpec(path: string): FeatureSpec {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code) throw error;
    throw new UsageError(`${path} is not valid JSON`);
  }
  try {
    return parseFeatureSpec(document);
  } catch (error) {
    if (error instanceof FeatureSpecError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
}

/** Scores every row of the input; resolves to the number of rows. */
async function scoreFile(
  predictor: Predictor,
  spec: FeatureSpec | undefined,
  stream: ReadStream,
  input: string,
  output: RowOutput,
  sink: BatchSink,
  backpressure: () => Promise<unknown> | undefined = () => undefined,
): Promise<number> {
  const width = predictor.numFeature;
  const rows = new Float32Array(BATCH_ROWS * width);
  let pending = 0;
  let total = 0;
  const flush = async () => {
    if (pending === 0) return;
    const x = rows.subarray(0, pending * width);
    sink(output.compute(x, pending), pending, output.width);
    total += pending;
    pending = 0;
    await backpressure();
  };
  const fill = spec ? namedRows(spec, width, stream, input) : vectorRows(width, stream, input);
  for await (const write of fill) {
    write(rows, pending * width);
    if (++pending === BATCH_ROWS) await flush();
  }
  await flush();
  return total;
}

/** A row writer: puts one input row's vector at `offset` of `rows`. */
type RowWriter = (rows: Float32Array, offset: number) => void;

/** Headerless vectors: `width` values per line, empty or NaN = missing. */
async function* vectorRows(width: number, stream: ReadStream, input: string): AsyncGenerator<RowWriter> {
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    const fields = line.split(',');
    if (fields.length !== width) {
      throw new UsageError(`${input} line ${lineNumber}: ${fields.length} fields, the model expects ${width}`);
    }
    const at = lineNumber;
    yield (rows, offset) => {
      for (let j = 0; j < width; j++) {
        const field = fields[j].trim();
        if (field === '' || field === 'NaN' || field === 'nan') {
          rows[offset + j] = Number.NaN;
          continue;
        }
        const value = Number(field);
        if (!Number.isFinite(value) || !Number.isFinite(Math.fround(value))) {
          throw new UsageError(`${input} line ${at} column ${j + 1}: not a finite float32 number`);
        }
        rows[offset + j] = value;
      }
    };
  }
}

/** Named columns: the header names features; the spec builds each vector as the scorer does. */
async function* namedRows(
  spec: FeatureSpec,
  width: number,
  stream: ReadStream,
  input: string,
): AsyncGenerator<RowWriter> {
  const vectorizer = new Vectorizer(spec);
  if (vectorizer.width !== width) {
    throw new UsageError(`the feature spec yields ${vectorizer.width} columns but the model expects ${width}`);
  }
  for await (const { record, at } of namedRecords(spec, stream, input)) {
    yield (rows, offset) => {
      try {
        vectorizer.fill(record, 0, rows, offset);
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        throw new UsageError(`${input} line ${at}: ${error.message.replace(/^records\[0\]\.?/, '')}`);
      }
    };
  }
}
