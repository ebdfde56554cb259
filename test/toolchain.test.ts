/**
 * The Lambda toolchain loads under jest: ESM-only middy 6 through CommonJS ts-jest, with Powertools' logger
 * and metrics middlewares writing structured logs and EMF to stdout as they do on Lambda.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

const context = {
  functionName: 'toolchain-check',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-2:111111111111:function:toolchain-check',
  memoryLimitInMB: '128',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/toolchain-check',
  logStreamName: '2026/11/28/[$LATEST]abc',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 1000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

test('a middy 6 handler runs with Powertools logger and metrics middlewares', async () => {
  const lines: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const logger = new Logger({ serviceName: 'toolchain' });
  const metrics = new Metrics({ namespace: 'mlp-test', serviceName: 'toolchain' });
  const handler = middy(async (event: { n: number }) => {
    logger.info('scored', { n: event.n });
    metrics.addMetric('Records', MetricUnit.Count, event.n);
    return { doubled: event.n * 2 };
  })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
  try {
    await expect(handler({ n: 21 }, context)).resolves.toEqual({ doubled: 42 });
  } finally {
    write.mockRestore();
  }
  const records = lines
    .join('')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(records).toContainEqual(
    expect.objectContaining({ message: 'scored', n: 21, function_request_id: context.awsRequestId }),
  );
  const emf = records.find((r) => r._aws);
  expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({
    Namespace: 'mlp-test',
    Metrics: [{ Name: 'Records', Unit: 'Count' }],
  });
  expect(emf.Records).toBe(21);
});
