/**
 * The grants of a reader of a side table (stepfunctions/curated/side-table.ts): an agent dataset of its own,
 * keyed by the training dataset's pseudonymous key, whose landed extracts its reader merges into that dataset's
 * curated table before reading it. The quality job reads realised outcomes so, Evaluate the protected attributes
 * of the fairness gate. Nothing else of the side dataset, and of the training table its pointer and logs (its key
 * id and key domain, which the side table's must match to join), not its files — Evaluate reads those anyway, for
 * the test split, under a grant of its own.
 */
import type * as iam from 'aws-cdk-lib/aws-iam';
import { curated, landing } from '../../contracts/s3-layout';
import type { ObjectAccess } from './object-access';

/** Statement ids of the grants, by what they allow (each principal's ids must differ from its other grants'). */
export interface SideTableSids {
  readonly readTable: string;
  readonly listTable: string;
  readonly mergeTable: string;
  readonly readExtracts: string;
  readonly listExtracts: string;
}

/** Lets `principal` merge the landed extracts of `side` into its curated table and read it, for `training`. */
export function grantSideTableMerge(
  objects: ObjectAccess,
  principal: iam.IGrantable,
  { side, training, sids }: { side: string; training: string; sids: SideTableSids },
): void {
  const why = "the curated table's files are keyed by the pseudonymisation key id and the agent's run id.";
  const table = { bucket: 'curated' as const, prefix: curated.tablesPrefix(side) };
  objects.read(principal, { sid: sids.readTable, objects: [table], why });
  objects.list(principal, 'curated', `${table.prefix}*`, sids.listTable);
  objects.write(principal, { sid: sids.mergeTable, objects: [table], why });
  const trainingPointer = { bucket: 'curated' as const, prefix: curated.currentTableKey(training) };
  const trainingLogs = { bucket: 'curated' as const, prefix: `${curated.tablesPrefix(training)}*/_log.json` };
  objects.read(principal, {
    sid: 'ReadTrainingTableLog',
    objects: [trainingPointer, trainingLogs],
    why: "the pointer's and each key id's log key (the helper ends every prefix with a wildcard).",
  });
  objects.list(principal, 'curated', `${curated.tablesPrefix(training)}*`, 'ListTrainingTable');
  objects.read(principal, {
    sid: sids.readExtracts,
    objects: [{ bucket: 'landing', prefix: landing.datasetPrefix(side) }],
    why: "extracts are keyed by the agent's run id.",
  });
  objects.list(principal, 'landing', `${landing.datasetPrefix(side)}*`, sids.listExtracts);
}
