import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeOfFromSubject, subjects } from '../../../src/bus/subjects.js';

test('node subjects keep a dotted node name in one subject token', { timeout: 5000 }, () => {
  assert.equal(subjects.fromNode('pi-1.lan', 'status'), 'skiff.from.pi-1_lan.status');
  assert.equal(subjects.toNodeAll('pi-1.lan'), 'skiff.to.pi-1_lan.>');
  assert.equal(subjects.nodeInboxPrefix('pi-1.lan'), '_INBOX_pi-1_lan');
  assert.equal(nodeOfFromSubject(subjects.fromNode('pi-1.lan', 'lease')), 'pi-1.lan');
});

test('nodeOfFromSubject accepts only skiff.from.NODE.TOPIC', { timeout: 5000 }, () => {
  assert.equal(nodeOfFromSubject('skiff.to.a.status'), undefined);
  assert.equal(nodeOfFromSubject('skiff.from.a.status.extra'), undefined);
  assert.equal(nodeOfFromSubject('other.from.a.status'), undefined);
});

test('the control plane inbox never equals a node inbox', { timeout: 5000 }, () => {
  assert.notEqual(subjects.controlPlaneInboxPrefix, subjects.nodeInboxPrefix('cp'));
  assert.match(subjects.controlPlaneInboxPrefix, /[A-Z]/);
});
