/**
 * The compliance packs every environment must pass: AWS Solutions, NIST 800-53 rev 5 and PCI DSS 3.2.1.
 * Registered on the CDK app, they fail `cdk synth` on any unacknowledged finding.
 */
import type { IConstruct } from 'constructs';
import { AwsSolutionsChecks, NIST80053R5Checks, type NagPack, PCIDSS321Checks } from 'cdk-nag';

/** New instances of the platform's packs, bound to `scope` (the app or a stage). */
export function compliancePacks(scope?: IConstruct): NagPack[] {
  const props = { verbose: true, writeSuppressionsToCloudFormation: true };
  return [new AwsSolutionsChecks(scope, props), new NIST80053R5Checks(scope, props), new PCIDSS321Checks(scope, props)];
}
