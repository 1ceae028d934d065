import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Node } from '../../../src/api/types.js';
import { nodeNetworkOf } from '../../../src/agent/pod-routes.js';
import { podNetworkOf } from '../../../src/server/node-network.js';
import { nextFreePodCidr, parseClusterCidr, parseIpv4Cidr, PodCidrAllocator } from '../../../src/server/pod-cidr.js';
import { MemoryStore } from '../../integration/bus/memory-store.js';

const log = pino({ level: 'silent' });
const node = (name: string, spec: Node['spec'] = {}, ip?: string): Node => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec,
  status: ip ? { addresses: [{ type: 'InternalIP', address: ip }] } : {},
});

test('cluster CIDRs: bad input names the flag and the fix', () => {
  assert.throws(() => parseClusterCidr('10.42.0.0'), /--cluster-cidr "10.42.0.0" is not an IPv4 CIDR/, 'no mask');
  assert.throws(() => parseClusterCidr('10.42.1.0/16'), /host bits set: did you mean 10.42.0.0\/16/, 'host bits');
  assert.throws(() => parseClusterCidr('10.42.1.0/24'), /too small: each node takes a \/24/, 'room for one node only');
  assert.throws(() => parseIpv4Cidr('300.1.1.0/24', '--pod-cidr'), /--pod-cidr "300.1.1.0\/24"/, 'octet out of range');
  assert.deepEqual(parseClusterCidr('10.42.0.0/16'), { base: (10 << 24) + (42 << 16), prefix: 16 }, 'the default parses');
});

test('the first free /24 is handed out, and none when the range is full', () => {
  const cluster = parseClusterCidr('10.50.0.0/22');
  assert.equal(nextFreePodCidr(cluster, new Set()), '10.50.0.0/24', 'first subnet first');
  assert.equal(nextFreePodCidr(cluster, new Set(['10.50.0.0/24', '10.50.2.0/24'])), '10.50.1.0/24', 'a freed gap is reused');
  assert.equal(nextFreePodCidr(cluster, new Set(['10.50.0.0/24', '10.50.1.0/24', '10.50.2.0/24', '10.50.3.0/24'])), undefined, 'all four taken');
});

test('the allocator gives concurrent joiners distinct subnets, keeps them, and frees them on delete', async () => {
  const store = new MemoryStore();
  for (const n of ['a', 'b', 'c']) await store.create('nodes', node(n));
  const alloc = new PodCidrAllocator(store, parseClusterCidr('10.42.0.0/16'), log);
  const got = await Promise.all(['a', 'b', 'c'].map((n) => alloc.allocate(n)));
  assert.equal(new Set(got).size, 3, `three different subnets: ${got.join(' ')}`);
  const stored = (await store.get({ resource: 'nodes', namespace: '', name: 'b' })) as Node;
  assert.equal(stored.spec?.podCIDR, got[1], 'written to spec.podCIDR');
  assert.deepEqual(stored.spec?.podCIDRs, [got[1]], 'and to spec.podCIDRs');
  assert.equal(await alloc.allocate('b'), got[1], 'asking again keeps the subnet');
  await store.delete({ resource: 'nodes', namespace: '', name: 'a' });
  await store.create('nodes', node('d'));
  assert.equal(await alloc.allocate('d'), got[0], "a deleted node's subnet is free again");
  assert.equal(await alloc.allocate('missing'), undefined, 'no Node, no subnet');
});

test('the allocator reports a full range with what to do', async () => {
  const store = new MemoryStore();
  for (const n of ['a', 'b', 'c']) await store.create('nodes', node(n));
  const alloc = new PodCidrAllocator(store, parseClusterCidr('10.60.0.0/23'), log);
  await alloc.allocate('a');
  await alloc.allocate('b');
  await assert.rejects(alloc.allocate('c'), /no free \/24 left in --cluster-cidr 10.60.0.0\/23 for node c: delete unused nodes or restart the server with a larger --cluster-cidr/, 'full');
});

test('every node gets one message; each finds its own subnet there and routes to every peer with a subnet and an IPv4 InternalIP', () => {
  const nodes = [
    node('n1', { podCIDR: '10.42.0.0/24' }, '10.1.0.1'),
    node('n2', { podCIDR: '10.42.1.0/24' }, '10.1.0.2'),
    node('n3', {}, '10.1.0.3'),
    node('n4', { podCIDR: '10.42.3.0/24' }),
    node('n5', { podCIDR: '10.42.4.0/24' }, 'fd00::5'),
  ];
  const network = podNetworkOf(nodes);
  assert.deepEqual(network.nodes.map((n) => n.name), ['n1', 'n2', 'n4', 'n5'], 'every node with a subnet, n3 has none');
  assert.deepEqual(
    nodeNetworkOf('n1', network),
    { podCIDR: '10.42.0.0/24', peers: [{ name: 'n2', internalIP: '10.1.0.2', podCIDR: '10.42.1.0/24' }] },
    'only n2 is routable from n1: n4 has no address, n5 no IPv4 address',
  );
  assert.equal(nodeNetworkOf('n3', network).podCIDR, undefined, 'a node without a subnet is told none');
  assert.equal(nodeNetworkOf('n4', network).podCIDR, '10.42.3.0/24', 'a node without an address still learns its own subnet');
});
