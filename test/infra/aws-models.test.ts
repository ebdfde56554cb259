/**
 * Fields people type (an approver, a reason) held to what AWS's API model of SageMaker states for the fields
 * they end up in, read from botocore's copy of the model (Debian's python3-botocore): if AWS changes a
 * pattern or a limit, the transcription in contracts/registry-fields.ts fails here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { approvalReasonProblem, approverProblem } from '../../contracts/registry-fields';

interface Shape {
  readonly type: string;
  readonly pattern?: string;
  readonly max?: number;
  readonly min?: number;
  readonly members?: Record<string, { shape: string }>;
  readonly value?: { shape: string };
}

/** The shapes of a service model botocore ships, e.g. `sagemaker`, `2017-07-24`. */
function serviceShapes(service: string, version: string): Record<string, Shape> {
  const botocore = execFileSync(
    '/usr/bin/python3',
    ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'],
    {
      encoding: 'utf8',
    },
  ).trim();
  const model = JSON.parse(readFileSync(join(botocore, 'data', service, version, 'service-2.json'), 'utf8')) as {
    shapes: Record<string, Shape>;
  };
  return model.shapes;
}

const shapes = serviceShapes('sagemaker', '2017-07-24');

test("UpdateModelPackage's approver and description fields are the ones transcribed", () => {
  const input = shapes.UpdateModelPackageInput.members!;
  const metadataValue = shapes[shapes[input.CustomerMetadataProperties.shape].value!.shape];
  expect(metadataValue).toMatchObject({ type: 'string', min: 1, max: 256 });
  expect(metadataValue.pattern).toBe('^([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,256}');
  expect(shapes[input.ApprovalDescription.shape]).toMatchObject({ type: 'string', max: 1024, pattern: '.*' });
});

test.each([
  ['jane.obrien@bank.example', null],
  ['Jane OBrien', null],
  ['Zoë Ångström', null],
  ["Jane O'Brien, risk", /letters, digits, spaces/],
  ['', /1 to 256/],
  ['x'.repeat(257), /1 to 256/],
])('approver %j', (approver, problem) => {
  const found = approverProblem(approver);
  if (problem === null) expect(found).toBeNull();
  else expect(found).toMatch(problem);
});

test('a reason must be one line and fit the description', () => {
  expect(approvalReasonProblem('calibration drifts above 0.6, see RISK-12')).toBeNull();
  for (const breakChar of ['\n', '\r', '\u2028']) expect(approvalReasonProblem(`a${breakChar}b`)).toMatch(/one line/);
  expect(approvalReasonProblem('x'.repeat(901))).toMatch(/at most 900/);
});
