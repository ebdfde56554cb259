/** How an extract refuses to run: the data or the policy does not allow it. */
import type { DatasetConfig } from '../config/agent-config';

/** A refusal to extract: the data or the policy does not allow it. Nothing has been written when it is thrown. */
export class ExtractAbort extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtractAbort';
  }
}

/** The refusal for failed data tests, each failure named. */
export function dataTestsFailed(dataset: DatasetConfig, failures: readonly string[]): ExtractAbort {
  return new ExtractAbort(`${dataset.name}: data tests failed: ${failures.join('; ')}`);
}
