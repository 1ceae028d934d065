import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errors } from '../../../src/api/errors.js';
import { CliError, formatApiError, formatError } from '../../../src/cli/errors.js';
import { errorFromBody } from '../../../src/cli/rest-client.js';

test('server errors read as kubectl prints them', { timeout: 5_000 }, () => {
  assert.equal(formatError(errors.notFound('pods', 'x')), 'Error from server (NotFound): pods "x" not found');
  assert.equal(
    formatApiError(errors.alreadyExists('pods', 'x'), 'error when creating "p.yaml"'),
    'Error from server (AlreadyExists): error when creating "p.yaml": pods "x" already exists',
  );
});

test('an invalid object lists every field error, one per line', { timeout: 5_000 }, () => {
  const e = errors.invalid('Pod', 'x', [
    { field: 'spec.containers[0].image', type: 'FieldValueRequired' },
    { field: 'spec.restartPolicy', type: 'FieldValueNotSupported', value: 'Sometimes', detail: 'supported values: "Always", "OnFailure", "Never"' },
  ]);
  assert.equal(
    formatError(e),
    [
      'The Pod "x" is invalid:',
      '* spec.containers[0].image: Required value',
      '* spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ].join('\n'),
  );
  const one = errors.invalid('Pod', 'x', [{ field: 'metadata.name', type: 'FieldValueRequired' }]);
  assert.equal(formatError(one), 'The Pod "x" is invalid: metadata.name: Required value');
});

test('Status bodies become ApiErrors; other bodies keep their HTTP meaning', { timeout: 5_000 }, () => {
  const status = errors.invalid('Pod', 'x', [{ field: 'spec.containers', type: 'FieldValueRequired' }]).toStatus();
  const back = errorFromBody(422, JSON.stringify(status));
  assert.equal(back.reason, 'Invalid');
  assert.equal(formatError(back), 'The Pod "x" is invalid: spec.containers: Required value');
  assert.equal(errorFromBody(404, '404 page not found').reason, 'NotFound');
  assert.equal(errorFromBody(409, 'conflict').reason, 'Conflict');
  assert.equal(errorFromBody(502, '').message, 'the server answered HTTP 502');
});

test('client-side errors are prefixed like kubectl', { timeout: 5_000 }, () => {
  assert.equal(formatError(new CliError('boom')), 'error: boom');
});
