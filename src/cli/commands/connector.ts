// The on-premises connector: run it, provision it, list and revoke connectors.
import { connectorCode, list, many, opt, paging, str, tenant, type Command } from '../args.ts';
import { SetupError, enc, inTenant, listing, request, serverUrl } from '../client.ts';
import { iso, printList } from '../output.ts';
import type { Connector, ConnectorCode } from '../types.ts';

export const connectorCommands: Record<string, Command> = {
  connector: {
    usage: 'gatehouse connector [--url URL] [--enterprise-id ID [--code -]] [--state FILE] [--name NAME] [--ldap-url URL]...',
    summary:
      'Run the on-premises connector: connects outbound to Gatehouse (--url, default GATEHOUSE_URL) and reaches the directory for it. The first start needs the Enterprise ID and a provisioning code: from GATEHOUSE_CONNECTOR_CODE, or from standard input with --code - (a code written on the command line is visible to every user of the host in its process list).',
    options: { url: str, 'enterprise-id': str, code: str, state: str, name: str, 'ldap-url': many },
    json: false,
    async run(o) {
      const { runAgent, FatalConnectorError } = await import('../../directory/connector/agent.ts');
      const code = await connectorCode(opt(o, 'code'));
      try {
        const agent = runAgent({
          url: opt(o, 'url') ?? serverUrl(),
          stateFile: opt(o, 'state') ?? 'gatehouse-connector.json',
          enterpriseId: opt(o, 'enterprise-id'),
          code,
          name: opt(o, 'name'),
          ldapUrls: list(o, 'ldap-url'),
        });
        process.once('SIGINT', () => agent.stop());
        process.once('SIGTERM', () => agent.stop());
        await agent.done;
      } catch (e) {
        if (e instanceof FatalConnectorError) throw new SetupError(e.message);
        throw e;
      }
    },
  },
  'connector code': {
    usage: 'gatehouse connector code --tenant SLUG [--json]',
    summary: 'Generate a one-time provisioning code for a new connector (valid 5 minutes, works once).',
    options: tenant,
    async run(o, _a, out) {
      const r = await request<ConnectorCode>('POST', `${inTenant(o)}/connectors/codes`);
      out.print(
        [
          `Enterprise ID:     ${r.enterpriseId}`,
          `Provisioning code: ${r.code}`,
          `Valid until:       ${iso(r.expiresAt)} (5 minutes, once)`,
          '',
          `On the connector host: GATEHOUSE_CONNECTOR_CODE=${r.code} gatehouse connector --url ${r.url} --enterprise-id ${r.enterpriseId}`,
        ].join('\n'),
        r,
      );
    },
  },
  'connector list': {
    usage: 'gatehouse connector list --tenant SLUG [--limit N] [--cursor CURSOR] [--json]',
    summary: 'List connectors: connected, last seen, version, latency, last error and the recommended fix.',
    options: { ...tenant, ...paging },
    async run(o, _a, out) {
      printList(
        out,
        await listing<Connector>(o, `${inTenant(o)}/connectors`),
        (c) => [
          c.id,
          c.name,
          c.status,
          c.lastSeenAt ? `seen ${iso(c.lastSeenAt)}` : 'never seen',
          c.version ?? '-',
          c.latencyMs === null ? '-' : `${c.latencyMs} ms`,
          c.recommendedFix ?? c.lastError ?? '',
        ],
        'No connectors.',
      );
    },
  },
  'connector revoke': {
    usage: 'gatehouse connector revoke --tenant SLUG CONNECTOR_ID',
    summary: 'Revoke a connector: it is disconnected and can never reconnect.',
    options: tenant,
    positionals: 1,
    async run(o, [id], out) {
      await request<void>('DELETE', `${inTenant(o)}/connectors/${enc(id!)}`);
      out.print(`Connector ${id} is revoked.`, { id, revoked: true });
    },
  },
};
