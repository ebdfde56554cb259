/**
 * Resolves the CloudFormation values of a synthesized stage to what they stand for once deployed: `Ref`,
 * `Fn::GetAtt`, `Fn::Join`, `Fn::ImportValue` and `Fn::GetStackOutput` across the stage's stacks, every resource
 * named by its logical id (the platform sets no physical names): bucket `landingbucket6d60388f`, function
 * `ScorerFunction64F0027F`, role ARN `arn:aws:iam::<account>:role/<id>`, key ARN `…:key/<id>`. An intrinsic or
 * attribute it does not know throws, so nothing unresolved reaches a stand-in.
 */
import { Template } from 'aws-cdk-lib/assertions';
import type { PlatformStage } from '../../../lib/platform-stage';

type Json = unknown;

interface StackIndex {
  readonly name: string;
  readonly template: Template;
  readonly resources: Record<string, { Type: string; Properties?: Record<string, Json> }>;
  readonly outputs: Record<string, { Value: Json; Export?: { Name: Json } }>;
}

/** The stage's templates, and what their values resolve to. */
export class StageResolver {
  readonly region: string;
  readonly account: string;
  private readonly stacks = new Map<string, StackIndex>();

  constructor(readonly stage: PlatformStage) {
    this.region = stage.region!;
    this.account = stage.account!;
    for (const stack of [
      stage.keys,
      stage.network,
      stage.data,
      stage.audit,
      stage.onPremAccess,
      stage.alerts,
      stage.serving,
      stage.retraining,
    ]) {
      const template = Template.fromStack(stack);
      const json = template.toJSON() as {
        Resources?: StackIndex['resources'];
        Outputs?: StackIndex['outputs'];
      };
      this.stacks.set(stack.stackName, {
        name: stack.stackName,
        template,
        resources: json.Resources ?? {},
        outputs: json.Outputs ?? {},
      });
    }
  }

  /** A stack's outputs, each resolved (one that cannot be is left out); undefined for a stack not in the stage. */
  outputs(stackName: string): Record<string, string> | undefined {
    const stack = this.stacks.get(stackName);
    if (!stack) return undefined;
    const resolved: Record<string, string> = {};
    for (const [key, output] of Object.entries(stack.outputs)) {
      try {
        resolved[key] = this.string(output.Value, stackName);
      } catch {
        // an output of something the resolver does not model
      }
    }
    return resolved;
  }

  /** A stack's template, synthesized once. */
  template(stackName: string): Template {
    return this.stack(stackName).template;
  }

  /** The stack's resources of a type, by logical id. */
  resources(stackName: string, type: string): Record<string, Record<string, Json>> {
    const stack = this.stack(stackName);
    return Object.fromEntries(
      Object.entries(stack.resources)
        .filter(([, r]) => r.Type === type)
        .map(([id, r]) => [id, r.Properties ?? {}]),
    );
  }

  /** A value of `stackName`'s template with every intrinsic resolved (objects and arrays deeply). */
  value(v: Json, stackName: string): Json {
    if (Array.isArray(v)) return v.map((x) => this.value(x, stackName));
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::')))
      return this.intrinsic(v as Record<string, Json>, stackName);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x, stackName)]));
  }

  /** A value that must resolve to a string. */
  string(v: Json, stackName: string): string {
    const resolved = this.value(v, stackName);
    if (typeof resolved !== 'string') throw new Error(`${JSON.stringify(v).slice(0, 120)} is not a string`);
    return resolved;
  }

  private stack(name: string): StackIndex {
    const stack = this.stacks.get(name);
    if (!stack) throw new Error(`no stack ${name} in stage ${this.stage.stageName}`);
    return stack;
  }

  private intrinsic(v: Record<string, Json>, stackName: string): Json {
    const [fn] = Object.keys(v);
    const arg = v[fn];
    switch (fn) {
      case 'Ref':
        return this.ref(String(arg), stackName);
      case 'Fn::GetAtt': {
        const [id, attribute] = arg as [string, string];
        return this.attribute(id, attribute, stackName);
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, Json[]];
        return parts.map((p) => this.string(p, stackName)).join(separator);
      }
      case 'Fn::ImportValue': {
        const exportName = this.string(arg, stackName);
        for (const stack of this.stacks.values()) {
          for (const output of Object.values(stack.outputs)) {
            if (output.Export && this.value(output.Export.Name, stack.name) === exportName)
              return this.value(output.Value, stack.name);
          }
        }
        throw new Error(`no stack of the stage exports ${exportName}`);
      }
      case 'Fn::GetStackOutput': {
        const { StackName, OutputName } = arg as { StackName: string; OutputName: string };
        const output = this.stack(StackName).outputs[OutputName];
        if (!output) throw new Error(`${StackName} has no output ${OutputName}`);
        return this.value(output.Value, StackName);
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${this.region}${zone}`);
      case 'Fn::Select': {
        const [index, list] = arg as [number, Json];
        return (this.value(list, stackName) as Json[])[Number(index)];
      }
      default:
        throw new Error(`${fn} is not resolved by the stage resolver`);
    }
  }

  private resource(id: string, stackName: string) {
    const resource = this.stack(stackName).resources[id];
    if (!resource) throw new Error(`${stackName} has no resource ${id}`);
    return resource;
  }

  /** What `Ref` returns for a resource (or a pseudo parameter). */
  private ref(id: string, stackName: string): string {
    switch (id) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stackName;
    }
    const { Type, Properties = {} } = this.resource(id, stackName);
    const named = (property: string) =>
      Properties[property] !== undefined ? this.string(Properties[property], stackName) : id;
    switch (Type) {
      case 'AWS::S3::Bucket':
        return Properties.BucketName !== undefined ? named('BucketName') : id.toLowerCase();
      case 'AWS::Lambda::Function':
        return named('FunctionName');
      case 'AWS::IAM::Role':
        return named('RoleName');
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${this.region}:${this.account}:${named('TopicName')}`;
      case 'AWS::CloudWatch::Alarm':
        return named('AlarmName');
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${this.region}:${this.account}:stateMachine:${named('StateMachineName')}`;
      case 'AWS::Logs::LogGroup':
        return named('LogGroupName');
      case 'AWS::SageMaker::ModelPackageGroup':
        return named('ModelPackageGroupName');
      case 'AWS::EC2::Subnet':
        return `subnet-${id}`;
      case 'AWS::EC2::SecurityGroup':
        return `sg-${id}`;
      case 'AWS::EC2::VPC':
        return `vpc-${id}`;
      case 'AWS::EC2::VPCEndpoint':
        return `vpce-${id}`;
      default:
        return id;
    }
  }

  /** What `Fn::GetAtt` returns. */
  private attribute(id: string, attribute: string, stackName: string): string {
    const { Type } = this.resource(id, stackName);
    const name = this.ref(id, stackName);
    const arn = (service: string, resource: string) => `arn:aws:${service}:${this.region}:${this.account}:${resource}`;
    switch (`${Type}.${attribute}`) {
      case 'AWS::S3::Bucket.Arn':
        return `arn:aws:s3:::${name}`;
      case 'AWS::Lambda::Function.Arn':
        return arn('lambda', `function:${name}`);
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${this.account}:role/${name}`;
      case 'AWS::KMS::Key.Arn':
        return arn('kms', `key/${id}`);
      case 'AWS::SNS::Topic.TopicArn':
        return name;
      case 'AWS::Logs::LogGroup.Arn':
        return arn('logs', `log-group:${name}:*`);
      case 'AWS::CloudWatch::Alarm.Arn':
        return arn('cloudwatch', `alarm:${name}`);
      case 'AWS::StepFunctions::StateMachine.Arn':
        return name;
      case 'AWS::EC2::SecurityGroup.GroupId':
        return name;
      case 'AWS::Lambda::Version.Version':
        return '1';
      default:
        throw new Error(`Fn::GetAtt ${Type}.${attribute} is not resolved by the stage resolver`);
    }
  }
}
