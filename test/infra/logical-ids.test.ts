import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { synthesizePlatform } from '../support/platform';

/**
 * Stateful resources keep their data only while their logical ids and stack names stay the same: a change
 * here means CloudFormation would replace (and for RETAIN, orphan) a bucket, key, log group or trail.
 */
const STATEFUL: Record<string, Record<string, string[]>> = {
  Keys: { 'AWS::KMS::Key': ['AuditKeyB2DBB069', 'CaptureKey0B937016', 'LandingKeyBDE43B3D', 'ModelsKeyC2484B09'] },
  Network: { 'AWS::EC2::VPC': ['Vpc8378EB38'], 'AWS::Logs::LogGroup': ['FlowLogGroup3E25AA51'] },
  Data: {
    'AWS::S3::Bucket': [
      'AccessLogsBucketCD784A59',
      'CaptureBucket89727A45',
      'CuratedBucket90F6C1E7',
      'LandingBucket6D60388F',
      'ModelsBucket970C6ADA',
    ],
  },
  Audit: {
    'AWS::S3::Bucket': ['AuditLogsBucketCBA431F7'],
    'AWS::CloudTrail::Trail': ['Trail022F0CF2'],
    'AWS::Logs::LogGroup': ['TrailLogGroup7A1F916A'],
  },
  OnPremAccess: { 'AWS::RolesAnywhere::TrustAnchor': ['BankCaTrustAnchor'], 'AWS::IAM::Role': ['AgentRoleF4A42D6B'] },
};

const platform = synthesizePlatform();

describe.each(['dev', 'staging', 'prod'])('%s', (envName) => {
  const stage = platform.stages[envName];
  test.each(Object.keys(STATEFUL))('stack %s keeps its name and stateful logical ids', (stackId) => {
    const stack = stage.node.findChild(stackId) as Stack;
    expect(stack.stackName).toBe(`${envName}-${stackId}`);
    const template = Template.fromStack(stack);
    for (const [type, ids] of Object.entries(STATEFUL[stackId])) {
      expect(Object.keys(template.findResources(type)).sort()).toEqual(ids);
    }
  });
});
