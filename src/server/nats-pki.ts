import { caCertHash } from '../bus/ca-hash.js';
import { issueCertificate, type CaPem } from '../pki/certificates.js';
import type { NatsPlanePki } from './nats-plane.js';

// The certificates the NATS plane needs, signed by the cluster CA: nats-server's TLS
// certificate and node client certificates from the nodes' CSRs.

const nodeCertDays = 365;
const serverCertDays = 365;

export async function natsPlanePki(ca: CaPem): Promise<NatsPlanePki> {
  return {
    caPem: ca.certPem,
    caCertHash: caCertHash(ca.certPem),
    async issueServerCertificate({ dnsNames, ipAddresses }) {
      const issued = await issueCertificate({ ca, commonName: 'skiff-nats', dnsNames, ips: ipAddresses, usages: ['server'], validityDays: serverCertDays });
      return { certPem: issued.certPem, keyPem: issued.keyPem! };
    },
    async issueNodeCertificate(csrPem, nodeName) {
      // The subject is set here, never taken from the CSR: a node cannot ask for another name.
      const issued = await issueCertificate({
        ca,
        commonName: `system:node:${nodeName}`,
        organizations: ['system:nodes'],
        csrPem,
        usages: ['client'],
        validityDays: nodeCertDays,
      });
      return issued.certPem;
    },
  };
}
