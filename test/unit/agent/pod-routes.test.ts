import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { planRoutes, PodRoutes, type NodeNetwork, type PodRoute, type RouteTable } from '../../../src/agent/pod-routes.js';

const log = pino({ level: 'silent' });
const net = (peers: NodeNetwork['peers']): NodeNetwork => ({ podCIDR: '10.42.0.0/24', peers });

class FakeTable implements RouteTable {
  routes = new Map<string, string>();
  calls: string[] = [];
  failVia = new Set<string>();
  async list(): Promise<PodRoute[]> {
    return [...this.routes].map(([dst, via]) => ({ dst, via }));
  }
  async replace(r: PodRoute): Promise<void> {
    this.calls.push(`replace ${r.dst} via ${r.via}`);
    if (this.failVia.has(r.via)) throw new Error('Nexthop has invalid gateway');
    this.routes.set(r.dst, r.via);
  }
  async remove(dst: string): Promise<void> {
    this.calls.push(`remove ${dst}`);
    this.routes.delete(dst);
  }
}

test('the plan adds missing routes, fixes moved gateways, removes stale ones, and skips self and local peers', () => {
  const plan = planRoutes(
    net([
      { name: 'a', internalIP: '10.1.0.2', podCIDR: '10.42.1.0/24' },
      { name: 'b', internalIP: '10.1.0.3', podCIDR: '10.42.2.0/24' },
      { name: 'same-host', internalIP: '10.1.0.1', podCIDR: '10.42.5.0/24' },
      { name: 'dup', internalIP: '10.1.0.9', podCIDR: '10.42.0.0/24' },
    ]),
    '10.42.0.0/24',
    new Set(['10.1.0.1']),
    [
      { dst: '10.42.1.0/24', via: '10.1.0.2' },
      { dst: '10.42.2.0/24', via: '10.1.0.99' },
      { dst: '10.42.7.0/24', via: '10.1.0.7' },
    ],
  );
  assert.deepEqual(plan.replace, [{ dst: '10.42.2.0/24', via: '10.1.0.3' }], 'only b, whose gateway changed');
  assert.deepEqual(plan.remove, ['10.42.7.0/24'], 'the route of a node that left');
});

test('PodRoutes converges the table, keeps going past a failed route, and repairs on the next apply', async () => {
  const table = new FakeTable();
  table.failVia.add('192.0.2.1');
  const routes = new PodRoutes({ table, ownPodCidr: () => '10.42.0.0/24', localAddresses: () => new Set(), log });
  await routes.apply(
    net([
      { name: 'far', internalIP: '192.0.2.1', podCIDR: '10.42.9.0/24' },
      { name: 'a', internalIP: '10.1.0.2', podCIDR: '10.42.1.0/24' },
    ]),
  );
  assert.deepEqual([...table.routes], [['10.42.1.0/24', '10.1.0.2']], 'a routed although far failed');
  table.routes.delete('10.42.1.0/24');
  table.calls = [];
  await routes.apply(net([{ name: 'a', internalIP: '10.1.0.2', podCIDR: '10.42.1.0/24' }]));
  assert.deepEqual(table.calls, ['replace 10.42.1.0/24 via 10.1.0.2'], 'a route removed by hand comes back');
  table.calls = [];
  await routes.apply(net([]));
  assert.deepEqual(table.calls, ['remove 10.42.1.0/24'], 'no peers: no routes');
  assert.equal(table.routes.size, 0, 'table empty');
});
