// Deployment, ReplicaSet, DaemonSet, ReplicationController, Job and CronJob validation, after
// Kubernetes' pkg/apis/apps/validation and pkg/apis/batch/validation.

import { CronExpressionParser } from 'cron-parser';
import type { FieldError } from '../errors.js';
import { selectorFromLabelSelector, selectorFromSet, validateLabelSelector, type Selector } from '../selector.js';
import type { LabelSelector } from '../types.js';
import {
  child,
  deepEqual,
  goStringMap,
  invalid,
  isObj,
  type Obj,
  readBool,
  readEnum,
  readIntAtLeast,
  readObj,
  readString,
  required,
  forbidden,
} from './field.js';
import { checkWith, isPercent, validateAnnotations, validateLabels } from './names.js';
import { validatePodTemplate, type PodSpecRules } from './pod.js';

const keepRunning = (kind: string): PodSpecRules => ({
  restartPolicies: ['Always'],
  activeDeadlineForbidden: `activeDeadlineSeconds in ${kind} is not Supported`,
});

/** A LabelSelector that must be present, valid and non-empty; returns it ready to match. */
function requiredSelector(v: unknown, path: string, errs: FieldError[], kind: string): Selector | undefined {
  if (v === undefined || v === null) {
    errs.push(required(path));
    return undefined;
  }
  return optionalSelector(v, path, errs, kind);
}

function optionalSelector(v: unknown, path: string, errs: FieldError[], kind: string): Selector | undefined {
  if (v === undefined || v === null) return undefined;
  const found = validateLabelSelector(v as LabelSelector, path);
  errs.push(...found);
  if (found.length > 0) return undefined;
  const selector = selectorFromLabelSelector(v as LabelSelector);
  if (selector.empty) {
    errs.push(invalid(path, v, `empty selector is invalid for ${kind}`));
    return undefined;
  }
  return selector;
}

/** The rule every controller lives by: the pods it makes must be pods it selects. */
function checkTemplateMatches(selector: Selector | undefined, template: unknown, labels: Record<string, string> | undefined, path: string, errs: FieldError[]): void {
  if (!selector || !isObj(template) || selector.matches(labels)) return;
  // Kubernetes prints the labels Go-style; the detail carries them so the message reads the same.
  errs.push({
    field: child(path, 'metadata.labels'),
    type: 'FieldValueInvalid',
    detail: `${labels ? goStringMap(labels) : 'map[string]string(nil)'}: \`selector\` does not match template \`labels\``,
  });
}

function nonNegative(spec: Obj, fields: string[], errs: FieldError[]): void {
  for (const f of fields) readIntAtLeast(spec[f], child('spec', f), errs, 0);
}

// ---- rolling updates -------------------------------------------------------------------------

/** An int ≥ 0 or a percent string; returns the value as a number of percent or units, for the both-zero rule. */
function readIntOrPercent(v: unknown, path: string, errs: FieldError[], maxPercent?: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return readIntAtLeast(v, path, errs, 0);
  if (typeof v !== 'string') {
    errs.push(invalid(path, v, 'must be an integer or a percentage such as "25%"'));
    return undefined;
  }
  if (!checkWith(isPercent, v, path, errs)) return undefined;
  const pct = Number(v.slice(0, -1));
  if (maxPercent !== undefined && pct > maxPercent) {
    errs.push(invalid(path, v, `must not be greater than ${maxPercent}%`));
    return undefined;
  }
  return pct;
}

function validateRollingUpdate(v: unknown, path: string, errs: FieldError[]): void {
  const ru = readObj(v, path, errs);
  if (!ru) return;
  const unavailable = readIntOrPercent(ru.maxUnavailable, child(path, 'maxUnavailable'), errs, 100);
  const surge = readIntOrPercent(ru.maxSurge, child(path, 'maxSurge'), errs);
  if (unavailable === 0 && surge === 0) {
    errs.push(invalid(child(path, 'maxUnavailable'), ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
  }
}

// ---- apps ------------------------------------------------------------------------------------

export function validateDeploymentSpec(v: unknown, errs: FieldError[]): void {
  const spec = readSpec(v, errs);
  if (!spec) return;
  nonNegative(spec, ['replicas', 'minReadySeconds', 'revisionHistoryLimit', 'progressDeadlineSeconds'], errs);
  readBool(spec.paused, 'spec.paused', errs);
  const progress = spec.progressDeadlineSeconds;
  const minReady = spec.minReadySeconds;
  if (typeof progress === 'number' && typeof minReady === 'number' && progress <= minReady) {
    errs.push(invalid('spec.progressDeadlineSeconds', progress, 'must be greater than minReadySeconds'));
  }
  const selector = requiredSelector(spec.selector, 'spec.selector', errs, 'deployment');
  const labels = validatePodTemplate(spec.template, 'spec.template', errs, keepRunning('ReplicaSet'));
  checkTemplateMatches(selector, spec.template, labels, 'spec.template', errs);

  const strategy = readObj(spec.strategy, 'spec.strategy', errs);
  if (strategy) {
    const type = readEnum(strategy.type, 'spec.strategy.type', errs, ['Recreate', 'RollingUpdate']);
    if (type === 'Recreate' && strategy.rollingUpdate !== undefined && strategy.rollingUpdate !== null) {
      errs.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
    } else validateRollingUpdate(strategy.rollingUpdate, 'spec.strategy.rollingUpdate', errs);
  }
}

export function validateReplicaSetSpec(v: unknown, errs: FieldError[]): void {
  const spec = readSpec(v, errs);
  if (!spec) return;
  nonNegative(spec, ['replicas', 'minReadySeconds'], errs);
  const selector = requiredSelector(spec.selector, 'spec.selector', errs, 'replicaset');
  const labels = validatePodTemplate(spec.template, 'spec.template', errs, keepRunning('ReplicaSet'));
  checkTemplateMatches(selector, spec.template, labels, 'spec.template', errs);
}

export function validateDaemonSetSpec(v: unknown, errs: FieldError[]): void {
  const spec = readSpec(v, errs);
  if (!spec) return;
  nonNegative(spec, ['minReadySeconds', 'revisionHistoryLimit'], errs);
  const selector = requiredSelector(spec.selector, 'spec.selector', errs, 'daemonset');
  const labels = validatePodTemplate(spec.template, 'spec.template', errs, keepRunning('DaemonSet'));
  checkTemplateMatches(selector, spec.template, labels, 'spec.template', errs);

  const strategy = readObj(spec.updateStrategy, 'spec.updateStrategy', errs);
  if (strategy) {
    const type = readEnum(strategy.type, 'spec.updateStrategy.type', errs, ['RollingUpdate', 'OnDelete']);
    if (type === 'OnDelete' && strategy.rollingUpdate !== undefined && strategy.rollingUpdate !== null) {
      errs.push(forbidden('spec.updateStrategy.rollingUpdate', "may not be specified when strategy `type` is 'OnDelete'"));
    } else validateRollingUpdate(strategy.rollingUpdate, 'spec.updateStrategy.rollingUpdate', errs);
  }
}

export function validateReplicationControllerSpec(v: unknown, errs: FieldError[]): void {
  const spec = readSpec(v, errs);
  if (!spec) return;
  nonNegative(spec, ['replicas', 'minReadySeconds'], errs);
  const before = errs.length;
  const selectorMap = validateLabels(spec.selector, 'spec.selector', errs);
  let selector: Selector | undefined;
  if (!selectorMap || Object.keys(selectorMap).length === 0) {
    if (errs.length === before) errs.push(required('spec.selector'));
  } else if (errs.length === before) selector = selectorFromSet(selectorMap);
  const labels = validatePodTemplate(spec.template, 'spec.template', errs, keepRunning('ReplicationController'));
  checkTemplateMatches(selector, spec.template, labels, 'spec.template', errs);
}

// ---- batch -----------------------------------------------------------------------------------

const jobRestartRules: PodSpecRules = { restartPolicies: ['OnFailure', 'Never'], restartPolicyRequired: true };

export function validateJobSpec(v: unknown, path: string, errs: FieldError[]): void {
  const spec = readObj(v, path, errs);
  if (!spec) {
    if (v === undefined || v === null) errs.push(required(child(path, 'template')));
    return;
  }
  for (const f of ['parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished']) {
    readIntAtLeast(spec[f], child(path, f), errs, 0);
  }
  readBool(spec.suspend, child(path, 'suspend'), errs);
  readBool(spec.manualSelector, child(path, 'manualSelector'), errs);
  const mode = readEnum(spec.completionMode, child(path, 'completionMode'), errs, ['NonIndexed', 'Indexed']);
  if (mode === 'Indexed' && (spec.completions === undefined || spec.completions === null)) {
    errs.push(required(child(path, 'completions'), 'when completion mode is Indexed'));
  }
  // The server generates a Job's selector when the user gives none, so only a given one is checked.
  const selector = optionalSelector(spec.selector, child(path, 'selector'), errs, 'job');
  const templatePath = child(path, 'template');
  const labels = validatePodTemplate(spec.template, templatePath, errs, jobRestartRules);
  checkTemplateMatches(selector, spec.template, labels, templatePath, errs);
}

export function validateCronJobSpec(v: unknown, errs: FieldError[]): void {
  const spec = readSpec(v, errs);
  if (!spec) return;
  const timeZone = readString(spec.timeZone, 'spec.timeZone', errs);
  if (timeZone !== undefined) {
    const why = timeZoneProblem(timeZone);
    if (why) errs.push(invalid('spec.timeZone', timeZone, why));
  }
  const schedule = readString(spec.schedule, 'spec.schedule', errs);
  if (schedule === '' || spec.schedule === undefined || spec.schedule === null) errs.push(required('spec.schedule'));
  else if (schedule !== undefined) {
    const why = cronScheduleProblem(schedule);
    if (why) errs.push(invalid('spec.schedule', schedule, why));
    else if (timeZone !== undefined && /^(CRON_)?TZ=/.test(schedule.trim())) {
      errs.push(invalid('spec.schedule', schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
    }
  }
  readEnum(spec.concurrencyPolicy, 'spec.concurrencyPolicy', errs, ['Allow', 'Forbid', 'Replace']);
  readBool(spec.suspend, 'spec.suspend', errs);
  nonNegative(spec, ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit'], errs);
  if (spec.jobTemplate === undefined || spec.jobTemplate === null) {
    errs.push(required('spec.jobTemplate'));
    return;
  }
  const jobTemplate = readObj(spec.jobTemplate, 'spec.jobTemplate', errs);
  if (!jobTemplate) return;
  const meta = readObj(jobTemplate.metadata, 'spec.jobTemplate.metadata', errs);
  if (meta) {
    validateLabels(meta.labels, 'spec.jobTemplate.metadata.labels', errs);
    validateAnnotations(meta.annotations, 'spec.jobTemplate.metadata.annotations', errs);
  }
  validateJobSpec(jobTemplate.spec, 'spec.jobTemplate.spec', errs);
}

function readSpec(v: unknown, errs: FieldError[]): Obj | undefined {
  if (v === undefined || v === null) {
    errs.push(required('spec'));
    return undefined;
  }
  return readObj(v, 'spec', errs);
}

// ---- cron schedules --------------------------------------------------------------------------

const descriptors: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const goDurationRe = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const monthNames = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function timeZoneProblem(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `unknown time zone ${tz}`;
  }
}

/**
 * Why a schedule is not one the CronJob controller accepts: the standard five fields (minute,
 * hour, day of month, month, day of week), a descriptor such as @hourly or `@every 1h30m`, with an
 * optional `TZ=` or `CRON_TZ=` prefix — the forms Kubernetes' cron library parses.
 */
export function cronScheduleProblem(schedule: string): string | undefined {
  let text = schedule.trim();
  const tz = /^(?:CRON_)?TZ=(\S+)\s+(.*)$/s.exec(text);
  if (tz) {
    const why = timeZoneProblem(tz[1]);
    if (why) return why;
    text = tz[2].trim();
  }
  if (text.startsWith('@every ')) {
    return goDurationRe.test(text.slice(7).trim()) ? undefined : `failed to parse duration ${text}: use a duration such as 1h30m`;
  }
  if (text.startsWith('@')) {
    if (!(text in descriptors)) return `unrecognized descriptor: ${text}; use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>`;
    text = descriptors[text];
  }
  const fields = text.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) {
    return `expected exactly 5 fields (minute hour day-of-month month day-of-week), found ${fields.length}: [${fields.join(' ')}]`;
  }
  const names = ['minute', 'hour', 'day of month', 'month', 'day of week'];
  for (let i = 0; i < 5; i++) {
    const f = fields[i];
    if (!/^[0-9A-Za-z*?,/-]+$/.test(f)) return `invalid ${names[i]} field ${JSON.stringify(f)}`;
    const allowedWords = i === 3 ? monthNames : i === 4 ? dayNames : [];
    for (const word of f.match(/[A-Za-z]+/g) ?? []) {
      if (!allowedWords.includes(word.toLowerCase())) return `invalid ${names[i]} field ${JSON.stringify(f)}: unknown name ${JSON.stringify(word)}`;
    }
  }
  try {
    CronExpressionParser.parse(fields.join(' '), { strict: false });
    return undefined;
  } catch (e) {
    return `invalid schedule: ${(e as Error).message}`;
  }
}

// ---- updates ---------------------------------------------------------------------------------

/** apps/v1 made selectors immutable: changing one would orphan the pods it selected. */
export function validateSelectorUpdate(newSpec: unknown, oldSpec: unknown, path: string, errs: FieldError[]): void {
  if (!isObj(newSpec) || !isObj(oldSpec)) return;
  if (!deepEqual(normalizeSelector(newSpec.selector), normalizeSelector(oldSpec.selector))) {
    errs.push(invalid(child(path, 'selector'), newSpec.selector ?? null, 'field is immutable'));
  }
}

/** `matchLabels: {}` and no matchLabels mean the same selector. */
function normalizeSelector(v: unknown): unknown {
  if (!isObj(v)) return v;
  const out: Obj = {};
  if (isObj(v.matchLabels) && Object.keys(v.matchLabels).length > 0) out.matchLabels = v.matchLabels;
  if (Array.isArray(v.matchExpressions) && v.matchExpressions.length > 0) out.matchExpressions = v.matchExpressions;
  return out;
}

/** A Job's selector, completion mode and pod template are fixed once it runs. */
export function validateJobSpecUpdate(newSpec: unknown, oldSpec: unknown, path: string, errs: FieldError[]): void {
  if (!isObj(newSpec) || !isObj(oldSpec)) return;
  validateSelectorUpdate(newSpec, oldSpec, path, errs);
  for (const f of ['completionMode', 'completions']) {
    if (!deepEqual(newSpec[f], oldSpec[f])) errs.push(invalid(child(path, f), newSpec[f] ?? null, 'field is immutable'));
  }
  if (!deepEqual(newSpec.template, oldSpec.template)) {
    errs.push({ field: child(path, 'template'), type: 'FieldValueInvalid', detail: 'field is immutable' });
  }
}
