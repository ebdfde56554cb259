/** The states a promoted execution goes through, in order: the same locally and in AWS mode. */
export const PROMOTED_PATH = [
  'ValidateManifest',
  'Prepare',
  'Train',
  'Evaluate',
  'Register',
  'Gate',
  'Promote?',
  'Deploy',
  'CanaryWindow',
  'FinishDeploy',
  'Promoted',
];
