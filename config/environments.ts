/**
 * The platform's environments. This file is the single place a bank edits to point the platform at its own
 * accounts, networks and CA; everything else derives from it. Account ids and the CA below are examples.
 */
import type { EnvironmentInput } from './schema';

const EXAMPLE_CA = 'config/certs/example-bank-ca.pem';

/** What the loans model trains on and how: shared by every environment, promotion rules tighten per env. */
const LOANS_MODEL: Omit<EnvironmentInput['retraining'], 'promotion' | 'requireApproval' | 'schedule'> = {
  dataset: 'loans',
  keyColumn: 'loan_id',
  label: 'defaulted_12m',
  numericFeatures: [
    'annual_income',
    'n_accounts',
    'total_balance',
    'avg_monthly_spend',
    'avg_monthly_inflow',
    'max_monthly_spend',
    'months_overdrawn',
    'loan_amount',
    'term_months',
    'interest_rate',
    'debt_to_income',
    'spend_to_inflow',
    'missed_payments_6m',
  ],
  categoricalFeatures: ['region', 'employment_status', 'purpose'],
  trainingSet: {
    window: { column: 'originated_on', months: 36 },
    maturity: { minAgeMonths: 12 },
    engine: 'duckdb',
  },
  hyperparameters: {
    objective: 'binary:logistic',
    eval_metric: 'auc',
    num_round: '300',
    early_stopping_rounds: '20',
    max_depth: '4',
    eta: '0.1',
    subsample: '0.8',
    colsample_bytree: '0.8',
    min_child_weight: '5',
    seed: '7',
  },
  outcomes: { dataset: 'loan_outcomes', label: 'defaulted_12m' },
  // The model scores the probability of default: a higher score goes against the applicant.
  explanations: {
    adverse: 'higher',
    reasons: {
      annual_income: { code: 'INC01', text: 'Income too low for the amount requested' },
      n_accounts: { code: 'ACC01', text: 'Number of accounts held' },
      total_balance: { code: 'BAL01', text: 'Balances held across accounts' },
      avg_monthly_spend: { code: 'SPD01', text: 'Level of monthly spending' },
      avg_monthly_inflow: { code: 'INF01', text: 'Level of monthly income into accounts' },
      max_monthly_spend: { code: 'SPD02', text: 'Peaks in monthly spending' },
      months_overdrawn: { code: 'OVD01', text: 'Months spent overdrawn' },
      loan_amount: { code: 'AMT01', text: 'Amount requested' },
      term_months: { code: 'TRM01', text: 'Length of the loan term' },
      interest_rate: { code: 'RTE01', text: 'Interest rate of the loan' },
      debt_to_income: { code: 'DTI01', text: 'Debt too high relative to income' },
      spend_to_inflow: { code: 'SPD03', text: 'Spending high relative to income' },
      missed_payments_6m: { code: 'DEL01', text: 'Missed payments in the last six months' },
      region: { code: 'REG01', text: 'Region of residence' },
      employment_status: { code: 'EMP01', text: 'Employment status' },
      purpose: { code: 'PUR01', text: 'Purpose of the loan' },
    },
  },
  // The fairness gate: age band and recorded sex from the restricted loan_attributes extract, never features.
  // Loans are approved below a 0.3 probability of default. A group's calibration is judged to 0.1: a group of
  // the smallest judged size (100 rows) has a sampling error of about ±0.08 on its observed default rate, so a
  // tighter limit would fail well-calibrated models by chance.
  fairness: {
    dataset: 'loan_attributes',
    attributes: ['birth_date', 'sex'],
    approvalThreshold: 0.3,
    confidence: 0.95,
    minGroupSize: 100,
    limits: {
      minApprovalRatio: 0.8,
      maxEqualOpportunityDifference: 0.1,
      maxCalibrationGap: 0.1,
      maxMissingFraction: 0.05,
    },
  },
  canary: { percent: 10, minutes: 10 },
};

/** Environment name → configuration. Order matters only for display. */
export const ENVIRONMENTS: Readonly<Record<string, EnvironmentInput>> = {
  dev: {
    account: '111111111111',
    region: 'eu-west-2',
    availabilityZones: ['eu-west-2a', 'eu-west-2b'],
    vpcCidr: '10.40.0.0/20',
    onPremCidrs: ['172.16.0.0/16'],
    instanceTypes: { training: 'ml.m5.large', processing: 'ml.m5.large' },
    scorer: { memoryMb: 1024, reservedConcurrency: 5 },
    logRetentionDays: 30,
    alarms: {
      scorerErrorRatePercent: 5,
      scorerLatencyP99Ms: 100,
      driftPsi: 0.25,
      driftWindowHours: 24,
      driftMinRecords: 200,
    },
    notificationEmail: 'ml-platform-dev@bank.example',
    retainData: false,
    onPrem: {
      caCertificateFile: EXAMPLE_CA,
      agentCertificateCommonName: 'mlp-agent.dev.bank.example',
      datasets: ['loans', 'loan_outcomes', 'loan_attributes'],
    },
    retraining: {
      ...LOANS_MODEL,
      hyperparameters: { ...LOANS_MODEL.hyperparameters },
      promotion: { minAuc: 0.65, maxAucDrop: 0.01, maxCalibrationError: 0.05 },
      requireApproval: false,
      schedule: 'cron(0 3 ? * MON *)',
    },
  },
  staging: {
    account: '222222222222',
    region: 'eu-west-2',
    availabilityZones: ['eu-west-2a', 'eu-west-2b', 'eu-west-2c'],
    vpcCidr: '10.41.0.0/20',
    onPremCidrs: ['172.16.0.0/16'],
    instanceTypes: { training: 'ml.m5.xlarge', processing: 'ml.m5.xlarge' },
    scorer: { memoryMb: 1024, reservedConcurrency: 20 },
    logRetentionDays: 90,
    alarms: {
      scorerErrorRatePercent: 2,
      scorerLatencyP99Ms: 75,
      driftPsi: 0.2,
      driftWindowHours: 24,
      driftMinRecords: 1000,
    },
    notificationEmail: 'ml-platform-staging@bank.example',
    retainData: true,
    onPrem: {
      caCertificateFile: EXAMPLE_CA,
      agentCertificateCommonName: 'mlp-agent.staging.bank.example',
      datasets: ['loans', 'loan_outcomes', 'loan_attributes'],
    },
    retraining: {
      ...LOANS_MODEL,
      hyperparameters: { ...LOANS_MODEL.hyperparameters },
      promotion: { minAuc: 0.7, maxAucDrop: 0.005, maxCalibrationError: 0.04 },
      requireApproval: false,
      schedule: 'cron(0 3 ? * MON *)',
    },
  },
  prod: {
    account: '333333333333',
    region: 'eu-west-2',
    availabilityZones: ['eu-west-2a', 'eu-west-2b', 'eu-west-2c'],
    vpcCidr: '10.42.0.0/20',
    onPremCidrs: ['172.16.0.0/16', '172.17.0.0/16'],
    instanceTypes: { training: 'ml.m5.xlarge', processing: 'ml.m5.xlarge' },
    scorer: { memoryMb: 1769, reservedConcurrency: 100 },
    logRetentionDays: 2557,
    alarms: {
      scorerErrorRatePercent: 1,
      scorerLatencyP99Ms: 50,
      driftPsi: 0.2,
      driftWindowHours: 24,
      driftMinRecords: 1000,
    },
    notificationEmail: 'ml-platform-oncall@bank.example',
    retainData: true,
    auditObjectLock: { mode: 'COMPLIANCE', retentionDays: 2557 },
    onPrem: {
      caCertificateFile: EXAMPLE_CA,
      agentCertificateCommonName: 'mlp-agent.prod.bank.example',
      datasets: ['loans', 'loan_outcomes', 'loan_attributes'],
    },
    retraining: {
      ...LOANS_MODEL,
      hyperparameters: { ...LOANS_MODEL.hyperparameters },
      promotion: { minAuc: 0.7, maxAucDrop: 0.005, maxCalibrationError: 0.03 },
      requireApproval: true,
      schedule: 'cron(0 3 ? * MON *)',
    },
  },
};
