import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Event, Pod } from '../../../src/api/types.js';
import { writeEvents } from '../../../src/cli/describe/common.js';
import { smartLabel } from '../../../src/cli/describe/generic.js';
import { describePod } from '../../../src/cli/describe/pod.js';
import { alignTabs, DescribeWriter } from '../../../src/cli/printers/describe-writer.js';

test('tab alignment works per run of lines, like Go tabwriter with padding 2', { timeout: 5_000 }, () => {
  const out = alignTabs(['Name:\tweb', 'Namespace:\tdefault', 'Containers:', '  c:', '    Image:\tnginx', '    Port:\t80/TCP']);
  assert.deepEqual(out, ['Name:       web', 'Namespace:  default', 'Containers:', '  c:', '    Image:  nginx', '    Port:   80/TCP']);
});

const now = Date.parse('2024-05-01T12:00:00Z');

test('the Events section: Type Reason Age From Message, oldest first, <none> when empty', { timeout: 5_000 }, () => {
  const ev = (reason: string, last: string, count = 1): Event => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: reason },
    involvedObject: { kind: 'Pod', name: 'web' },
    reason,
    message: `${reason} happened`,
    type: 'Normal',
    source: { component: 'default-scheduler' },
    firstTimestamp: '2024-05-01T11:50:00Z',
    lastTimestamp: last,
    count,
  });
  const w = new DescribeWriter();
  writeEvents(w, [ev('Pulled', '2024-05-01T11:59:50Z', 3), ev('Scheduled', '2024-05-01T11:50:00Z')], now);
  assert.equal(
    w.toString(),
    [
      'Events:',
      '  Type    Reason     Age                From               Message',
      '  ----    ------     ----               ----               -------',
      '  Normal  Scheduled  10m                default-scheduler  Scheduled happened',
      '  Normal  Pulled     10s (x3 over 10m)  default-scheduler  Pulled happened',
      '',
    ].join('\n'),
  );
  const empty = new DescribeWriter();
  writeEvents(empty, [], now);
  assert.equal(empty.toString(), 'Events:  <none>\n');
});

test('describe pod follows kubectl layout', { timeout: 5_000 }, () => {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
    spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' }] },
  };
  const w = new DescribeWriter();
  describePod(w, pod, now);
  const text = w.toString();
  assert.match(text, /^Name:             web\nNamespace:        default\n/);
  assert.match(text, /\nNode:             <none>\n/);
  assert.match(text, /\nLabels:           app=web\nAnnotations:      <none>\nStatus:           Pending\n/);
  assert.match(text, /\nContainers:\n  c:\n    Image:        nginx\n    Port:         80\/TCP\n    Host Port:    0\/TCP\n/);
  assert.match(text, /\nConditions:\n  Type           Status\n  PodScheduled   False \n/);
  assert.match(text, /\nVolumes:         <none>\nQoS Class:       BestEffort\nNode-Selectors:  <none>\nTolerations:     <none>\n$/);
});

test('generic field labels read like kubectl', { timeout: 5_000 }, () => {
  assert.equal(smartLabel('matchLabels'), 'Match Labels');
  assert.equal(smartLabel('podCIDR'), 'Pod CIDR');
  assert.equal(smartLabel('spec'), 'Spec');
});
