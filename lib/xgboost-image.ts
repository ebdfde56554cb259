/**
 * SageMaker's built-in XGBoost 1.7-1 image per region: the registry account differs by region. Regions not
 * listed stop synth with the fix to apply (add the account from the SageMaker "Docker registry paths" page).
 */

/** Registry account of `sagemaker-xgboost` by region. */
export const XGBOOST_REGISTRY_ACCOUNTS: Readonly<Record<string, string>> = {
  'us-east-1': '683313688378',
  'us-east-2': '257758044811',
  'us-west-1': '746614075791',
  'us-west-2': '246618743249',
  'ca-central-1': '341280168497',
  'eu-west-1': '141502667606',
  'eu-west-2': '764974769150',
  'eu-west-3': '659782779980',
  'eu-central-1': '492215442770',
  'eu-north-1': '662702820516',
  'ap-south-1': '720646828776',
  'ap-southeast-1': '121021644041',
  'ap-southeast-2': '783357654285',
  'ap-northeast-1': '354813040037',
  'sa-east-1': '737474898029',
};

/** The built-in XGBoost version the platform trains with (XGBoost 1.7.4 inside). */
export const XGBOOST_IMAGE_TAG = '1.7-1';

/** The training image URI for a region. */
export function xgboostImageUri(region: string): string {
  const account = XGBOOST_REGISTRY_ACCOUNTS[region];
  if (!account) {
    throw new Error(
      `no SageMaker XGBoost registry account is recorded for ${region}: add it to XGBOOST_REGISTRY_ACCOUNTS in lib/xgboost-image.ts`,
    );
  }
  return `${account}.dkr.ecr.${region}.amazonaws.com/sagemaker-xgboost:${XGBOOST_IMAGE_TAG}`;
}
