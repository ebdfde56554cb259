/**
 * The shape of one environment's configuration and the rules it must obey. Validation happens before any
 * construct is created, so a bad value stops `cdk synth` with a message naming the environment and field.
 */
import { z } from 'zod';
import { cidrsOverlap, parseIpv4Cidr, type Ipv4Block } from './cidr';
import { KNOWN_REGIONS, LOG_RETENTION_DAYS } from './regions';
import { MAX_REASON_TEXT, REASON_CODE_PATTERN, reasonTableProblem } from '../contracts/reason-codes';

const cidr = z.string().superRefine((value, ctx) => {
  const parsed = parseIpv4Cidr(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: `"${value}" ${parsed}` });
});

const sageMakerInstanceType = z
  .string()
  .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as ml.m5.xlarge');

/** Dataset names become S3 prefixes and IAM resource patterns: keep them to a strict alphabet. */
export const DATASET_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

const objectLock = z
  .object({
    mode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
    retentionDays: z.number().int().min(1).max(36500),
  })
  .strict();

const columnName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be a column name');

/** What retraining trains on, how, and when a candidate may replace the champion. */
const retraining = z
  .object({
    /** The dataset (an `onPrem.datasets` entry) whose manifests trigger retraining. */
    dataset: z.string().regex(DATASET_NAME, `must match ${DATASET_NAME.source}`),
    /** Pseudonymised primary key: hashed for the deterministic train/validation/test split. */
    keyColumn: columnName,
    /** Binary label (0/1). */
    label: columnName,
    /** Numeric model inputs, in order. */
    numericFeatures: z.array(columnName).min(1, 'needs at least one numeric feature'),
    /** Categorical model inputs (one-hot encoded from the categories seen in training). */
    categoricalFeatures: z.array(columnName),
    /** SageMaker XGBoost hyperparameters, as the container takes them (strings). */
    hyperparameters: z.record(z.string().regex(/^[a-z_]+$/), z.string().min(1)),
    /**
     * What a training set is: the curated snapshot as of the triggering manifest, narrowed to a window of
     * history and to rows whose label is mature.
     */
    trainingSet: z
      .object({
        /** Rows whose `column` (a date, or a `YYYY-MM` month taken as its first day) lies within `months` before the as-of date. */
        window: z.object({ column: columnName, months: z.number().int().min(1).max(600) }).strict(),
        /**
         * Label maturity: the label must be known (not NULL), and the window column at least `minAgeMonths` before
         * the as-of date (so outcomes that become known early, defaults mostly, do not bias the set).
         */
        maturity: z.object({ minAgeMonths: z.number().int().min(0).max(600) }).strict(),
        /**
         * What selects the training set from the curated table: `duckdb` inside the Prepare function (up to what
         * its memory and 10 GB of scratch hold), or `athena` over the curated Parquet through the Glue catalog,
         * for datasets that outgrow one function. Both run the same SQL and give the same dataset version.
         */
        engine: z.enum(['duckdb', 'athena']),
      })
      .strict(),
    /** Promotion policy applied by the Gate state. */
    promotion: z
      .object({
        /** Lowest test AUC a candidate may have. */
        minAuc: z.number().gt(0.5).max(1),
        /** Largest AUC drop versus the champion on the same rows. */
        maxAucDrop: z.number().min(0).max(0.5),
        /** Largest expected calibration error (mean |observed - predicted| over the calibration bins). */
        maxCalibrationError: z.number().gt(0).max(1),
      })
      .strict(),
    /** Wait for a human decision before deploying (required in prod). */
    requireApproval: z.boolean(),
    /** EventBridge Scheduler expression for periodic retraining. */
    schedule: z.string().regex(/^(cron|rate)\(.+\)$/, 'must be an EventBridge cron(...) or rate(...) expression'),
    /**
     * Where realised outcomes come from: an agent dataset of their own (an `onPrem.datasets` entry, keyed by the
     * same pseudonymous `keyColumn`, which the agent links with `linkAs`) and its label column. The quality job
     * merges its extracts into its curated table and joins them to the scorer's captured predictions. Without it
     * the quality job reads the label of the training dataset's curated table.
     */
    outcomes: z
      .object({ dataset: z.string().regex(DATASET_NAME, `must match ${DATASET_NAME.source}`), label: columnName })
      .strict()
      .optional(),
    /**
     * How the model's decisions are explained (contracts/reason-codes.ts): which way of the score goes against
     * the applicant, and a reason code and text for every feature. Prepare writes it into each model's feature
     * spec; the scorer answers `explain: true` from it.
     */
    explanations: z
      .object({
        adverse: z.enum(['higher', 'lower']),
        reasons: z.record(
          columnName,
          z
            .object({
              code: z.string().regex(REASON_CODE_PATTERN, 'must be 1-16 of A-Z, 0-9, _ and -'),
              text: z.string().min(1).max(MAX_REASON_TEXT),
            })
            .strict(),
        ),
      })
      .strict()
      .optional(),
    /**
     * The fairness gate (contracts/fairness.ts): protected attributes kept out of the training features, joined
     * by the pseudonymous key from an agent dataset of their own (restricted: only Evaluate reads it); Evaluate
     * reports the candidate's decisions by group, the Gate fails a candidate beyond `limits`, with a group too
     * small to judge, with more rows missing the attributes than allowed, or without a report at all.
     */
    fairness: z
      .object({
        dataset: z.string().regex(DATASET_NAME, `must match ${DATASET_NAME.source}`),
        attributes: z.array(columnName).min(1).max(8),
        /** Scores below it are approved (the score is the probability of the adverse outcome). */
        approvalThreshold: z.number().gt(0).lt(1),
        confidence: z.number().min(0.8).lt(1),
        minGroupSize: z.number().int().min(10),
        limits: z
          .object({
            /** Lowest approval-rate ratio of the lowest to the highest group (four-fifths rule: 0.8). */
            minApprovalRatio: z.number().gt(0).max(1),
            /** Largest difference of approval rates among the qualified (repaid) between groups. */
            maxEqualOpportunityDifference: z.number().gt(0).max(1),
            /** Largest |observed adverse rate − mean score| of a group. */
            maxCalibrationGap: z.number().gt(0).max(1),
            /** Largest share of test rows without an attribute value. */
            maxMissingFraction: z.number().min(0).max(1),
          })
          .strict(),
      })
      .strict()
      .optional(),
    /**
     * What the model is for and not for, as its model card states it (stepfunctions/governance/model-card.ts);
     * without it the card derives a sentence from the dataset and label.
     */
    intendedUse: z.string().min(1).max(2000).optional(),
    /** Canary: share of traffic the new scorer version takes, and for how long, before the full shift. */
    canary: z.object({ percent: z.number().int().min(1).max(50), minutes: z.number().int().min(1).max(120) }).strict(),
  })
  .strict();

/** Raw configuration of one environment, as written in `config/environments.ts`. */
export const environmentInputSchema = z
  .object({
    /** The 12-digit AWS account the environment deploys to. */
    account: z.string().regex(/^[0-9]{12}$/, 'must be a 12-digit AWS account id'),
    /** Deployment region; one of KNOWN_REGIONS. */
    region: z.enum(KNOWN_REGIONS, { error: (issue) => `unknown region "${String(issue.input)}"` }),
    /** Availability zones for the isolated subnets, given explicitly so synth never looks them up. */
    availabilityZones: z.array(z.string()).min(2, 'needs at least 2 availability zones'),
    /** The VPC's IPv4 block, /16 to /24. */
    vpcCidr: cidr,
    /** Bank networks (Direct Connect / VPN) allowed to reach the interface endpoints on 443. */
    onPremCidrs: z.array(cidr).min(1, 'needs at least one on-prem CIDR'),
    /** SageMaker instance types for training and processing jobs. */
    instanceTypes: z.object({ training: sageMakerInstanceType, processing: sageMakerInstanceType }).strict(),
    /** The scoring Lambda. */
    scorer: z
      .object({
        /** Memory (MB): Lambda's CPU share grows with it. */
        memoryMb: z.number().int().min(256).max(10240),
        /** Concurrency reserved for (and capping) the scorer. */
        reservedConcurrency: z.number().int().min(1).max(1000),
      })
      .strict(),
    /** Retention of every CloudWatch log group the platform creates (days, a value CloudWatch accepts). */
    logRetentionDays: z.number().refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
      message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
    }),
    /** Alarm thresholds used by the monitoring stack. */
    alarms: z
      .object({
        /** Scorer 5xx + handler errors as a percentage of requests over 5 minutes. */
        scorerErrorRatePercent: z.number().gt(0).max(100),
        /** Scorer p99 latency in milliseconds. */
        scorerLatencyP99Ms: z.number().int().positive(),
        /** Population stability index above which a feature or the score is drifting. */
        driftPsi: z.number().gt(0).max(10),
        /** Hours of captured traffic the drift job judges on each run (it runs hourly). */
        driftWindowHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 31),
        /** Fewest scored records a window needs before drift is judged: smaller windows raise no alarm. */
        driftMinRecords: z.number().int().min(1),
      })
      .strict(),
    /** Address subscribed to the platform's alarm and pipeline notifications. */
    notificationEmail: z.email('must be an e-mail address'),
    /** Keep buckets and keys when the stack is deleted. Must be true outside dev. */
    retainData: z.boolean(),
    /** Object Lock on the audit bucket. Required in prod. */
    auditObjectLock: objectLock.optional(),
    /** On-prem agent access through IAM Roles Anywhere. */
    onPrem: z
      .object({
        /** PEM bundle of the bank CA that issues agent certificates, relative to the repository root. */
        caCertificateFile: z.string().min(1),
        /** Subject CN the agent's certificate must carry to assume the agent role. */
        agentCertificateCommonName: z.string().regex(/^[A-Za-z0-9.*_-]{1,128}$/, 'must be a certificate CN'),
        /** Datasets the agent may upload, each under `landing/<dataset>/`. */
        datasets: z
          .array(z.string().regex(DATASET_NAME, `must match ${DATASET_NAME.source}`))
          .min(1, 'needs at least one dataset'),
      })
      .strict(),
    retraining,
  })
  .strict()
  .superRefine((env, ctx) => {
    if (!env.onPrem.datasets.includes(env.retraining.dataset)) {
      ctx.addIssue({
        code: 'custom',
        path: ['retraining', 'dataset'],
        message: `"${env.retraining.dataset}" is not one of onPrem.datasets`,
      });
    }
    const outcomes = env.retraining.outcomes;
    if (outcomes && !env.onPrem.datasets.includes(outcomes.dataset)) {
      ctx.addIssue({
        code: 'custom',
        path: ['retraining', 'outcomes', 'dataset'],
        message: `"${outcomes.dataset}" is not one of onPrem.datasets`,
      });
    }
    if (outcomes?.dataset === env.retraining.dataset) {
      ctx.addIssue({
        code: 'custom',
        path: ['retraining', 'outcomes', 'dataset'],
        message: 'is the training dataset: leave outcomes out to read its label column',
      });
    }
    const inputs = [...env.retraining.numericFeatures, ...env.retraining.categoricalFeatures];
    const fairness = env.retraining.fairness;
    if (fairness) {
      const trained = fairness.attributes.find((a) => inputs.includes(a));
      const problem =
        fairness.dataset === env.retraining.dataset
          ? ['dataset', 'is the training dataset: protected attributes come from a dataset of their own']
          : !env.onPrem.datasets.includes(fairness.dataset)
            ? ['dataset', `"${fairness.dataset}" is not one of onPrem.datasets`]
            : trained
              ? ['attributes', `"${trained}" is a training feature: a protected attribute must stay out of the model`]
              : new Set(fairness.attributes).size !== fairness.attributes.length
                ? ['attributes', 'lists an attribute twice']
                : null;
      if (problem) ctx.addIssue({ code: 'custom', path: ['retraining', 'fairness', problem[0]], message: problem[1] });
    }
    const clash = inputs.find(
      (c, i) => inputs.indexOf(c) !== i || c === env.retraining.label || c === env.retraining.keyColumn,
    );
    const explanations = env.retraining.explanations;
    const reasonProblem = explanations && reasonTableProblem(explanations.reasons, inputs);
    if (reasonProblem) {
      ctx.addIssue({ code: 'custom', path: ['retraining', 'explanations', 'reasons'], message: reasonProblem });
    }
    if (clash) {
      ctx.addIssue({
        code: 'custom',
        path: ['retraining'],
        message: `column "${clash}" is listed twice or is also the label or key`,
      });
    }
    env.availabilityZones.forEach((az, i) => {
      if (!new RegExp(`^${env.region}[a-z]$`).test(az)) {
        ctx.addIssue({
          code: 'custom',
          path: ['availabilityZones', i],
          message: `"${az}" is not an availability zone of ${env.region}`,
        });
      }
    });
    if (new Set(env.availabilityZones).size !== env.availabilityZones.length) {
      ctx.addIssue({ code: 'custom', path: ['availabilityZones'], message: 'lists a zone twice' });
    }
    if (new Set(env.onPrem.datasets).size !== env.onPrem.datasets.length) {
      ctx.addIssue({ code: 'custom', path: ['onPrem', 'datasets'], message: 'lists a dataset twice' });
    }
    const vpc = parseIpv4Cidr(env.vpcCidr);
    if (typeof vpc === 'string') return;
    if (vpc.prefix < 16 || vpc.prefix > 24) {
      ctx.addIssue({ code: 'custom', path: ['vpcCidr'], message: 'must be between /16 and /24' });
    }
    env.onPremCidrs.forEach((text, i) => {
      const block = parseIpv4Cidr(text);
      if (typeof block !== 'string' && cidrsOverlap(block as Ipv4Block, vpc)) {
        ctx.addIssue({
          code: 'custom',
          path: ['onPremCidrs', i],
          message: `"${text}" overlaps the VPC CIDR ${env.vpcCidr}`,
        });
      }
    });
  });

/** Configuration of one environment as written by the platform team. */
export type EnvironmentInput = z.input<typeof environmentInputSchema>;
