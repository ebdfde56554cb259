/** Reading a deployed environment's stack outputs (the scoring URL, the state machine ARN). */
import { STACK_OUTPUTS } from '../../contracts/resource-names';
import { UsageError } from '../../terminal/errors';

/**
 * A deployed environment's stack output (default credential chain), or a UsageError naming what is missing.
 */
export async function stackOutput(
  environment: string,
  which: keyof typeof STACK_OUTPUTS,
  region: string,
): Promise<string> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const { stack, output: key } = STACK_OUTPUTS[which];
  const stackName = `${environment}-${stack}`;
  const deploy = `deploy it first: npx cdk deploy '${environment}/*'`;
  let result;
  try {
    result = await new CloudFormationClient({ region }).send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
      throw new UsageError(`stack ${stackName} does not exist in ${region}`, deploy);
    }
    throw error;
  }
  const value = result.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  if (!value) throw new UsageError(`stack ${stackName} has no ${key} output`, deploy);
  return value;
}
