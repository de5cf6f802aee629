// Directory sync at 10,000 users: a real slapd loaded with generated entries, a real
// Gatehouse (SQLite, and PostgreSQL with and without Redis when DATABASE_URL is set), a full
// sync directly and through a connector (`gatehouse connector` as its own process), then an
// incremental sync with 100 changed entries; on PostgreSQL also through a connector connected
// to a second Gatehouse process (every page relayed between the two). Writes
// bench/RESULTS-directory.md.
//   npx node bench/directory-sync.ts [--users=10000]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSlapd, OPENLDAP, modifyEntry } from '../test/helpers/slapd.ts';
import { startTestServer, postgresBackend, sqliteBackend, type Backend } from '../test/helpers/server.ts';
import { startNode } from '../test/helpers/cluster.ts';
import { startConnector } from '../test/helpers/connector.ts';

const USERS = Number(process.argv.find((a) => a.startsWith('--users='))?.slice(8) ?? 10_000);
const GROUPS = 50;

/** Entries changed over time (one a minute back from 2024), as in a directory in use. */
const stamp = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';

function ldif(): string {
  const out: string[] = ['dn: ou=Bench,dc=example,dc=test\nobjectClass: organizationalUnit\nou: Bench\n'];
  for (let r = 0; r < 10; r++) out.push(`dn: ou=Region${r},ou=Bench,dc=example,dc=test\nobjectClass: organizationalUnit\nou: Region${r}\n`);
  for (let i = 0; i < USERS; i++) {
    out.push(
      `dn: uid=u${i},ou=Region${i % 10},ou=Bench,dc=example,dc=test\nobjectClass: inetOrgPerson\nmodifyTimestamp: ${stamp(i)}\nuid: u${i}\ncn: User ${i}\ngivenName: User\nsn: Number${i}\nmail: u${i}@bench.example.test\nuserPassword: pw-${i}\n`,
    );
  }
  for (let g = 0; g < GROUPS; g++) {
    const members = [];
    for (let i = g; i < USERS; i += GROUPS) members.push(`member: uid=u${i},ou=Region${i % 10},ou=Bench,dc=example,dc=test`);
    out.push(
      `dn: cn=Bench Group ${g},ou=Bench,dc=example,dc=test\nobjectClass: groupOfNames\nmodifyTimestamp: 20240101000000Z\ncn: Bench Group ${g}\n${members.join('\n')}\n`,
    );
  }
  return out.join('\n');
}

async function measure(backend: Backend, url: string) {
  const env = await backend.env();
  const gh = await startTestServer(env);
  const rows: string[][] = [];
  try {
    const settings = { kind: 'openldap', urls: [url], startTls: false, allowPlain: true, bindDn: OPENLDAP.bindDn, baseDns: ['ou=Bench,dc=example,dc=test'] };
    const direct = await gh.api('POST', '/tenants/default/directories', { name: 'direct', settings, bindPassword: OPENLDAP.bindPassword });
    const time = async (label: string, id: string, mode: string, tenant = 'default') => {
      const t0 = performance.now();
      const r = await gh.api('POST', `/tenants/${tenant}/directories/${id}/sync`, { mode, wait: true });
      const s = (performance.now() - t0) / 1000;
      if (r.body.status !== 'succeeded') throw new Error(`${label}: ${JSON.stringify(r.body)}`);
      rows.push([
        backend.name,
        label,
        `${r.body.users.seen}`,
        `${r.body.users.created}`,
        `${r.body.users.updated}`,
        `${r.body.memberships.added}`,
        `${s.toFixed(2)} s`,
        `${Math.round(r.body.users.seen / s)}/s`,
      ]);
      console.log(rows.at(-1)!.join('  '));
    };
    await time('full, direct (first sync: all new)', direct.body.id, 'full');
    await time('full, direct (nothing changed)', direct.body.id, 'full');
    for (let i = 0; i < 100; i++)
      await modifyEntry(url, OPENLDAP, `uid=u${i * 7},ou=Region${(i * 7) % 10},ou=Bench,dc=example,dc=test`, { givenName: [`Changed${i}-${backend.name}`] });
    await time('incremental, direct (100 changed)', direct.body.id, 'incremental');
    // Through a connector (its own process) connected to `node`, for a tenant of its own so the users are new again.
    const viaConnector = async (label: string, tenant: string, node: string) => {
      await gh.api('POST', '/tenants', { slug: tenant });
      const code = (await gh.api('POST', `/tenants/${tenant}/connectors/codes`)).body.code;
      const p = startConnector(node, 'bench', path.join(gh.dataDir, `${tenant}.json`), ['--enterprise-id', tenant, '--code', code]);
      try {
        for (let i = 0; i < 200 && (await gh.api('GET', `/tenants/${tenant}/connectors`)).body.items[0]?.status !== 'connected'; i++)
          await new Promise((r) => setTimeout(r, 50));
        const d = await gh.api('POST', `/tenants/${tenant}/directories`, {
          name: tenant,
          settings: { ...settings, via: 'connector' },
          bindPassword: OPENLDAP.bindPassword,
        });
        await time(label, d.body.id, 'full', tenant);
      } finally {
        p.p.kill();
      }
    };
    await viaConnector('full, through a connector (all new)', 'viaconn', gh.base);
    if (env.DATABASE_URL) {
      // The connector is connected to a second Gatehouse process; the sync is asked of (and runs on) the first.
      const other = await startNode('other', { ...env, REDIS_URL: env.REDIS_URL ?? '', LOG_LEVEL: 'warn' }); // the same bus as this one
      try {
        await viaConnector('full, through a connector on another node (all new)', 'relayed', other.base);
      } finally {
        await other.kill();
      }
    }
  } finally {
    await gh.close();
    await backend.cleanup();
  }
  return rows;
}

const t0 = performance.now();
const ldap = await startSlapd({ extraLdif: ldif() });
console.log(`slapd loaded with ${USERS} users and ${GROUPS} groups in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const rows: string[][] = [];
try {
  rows.push(...(await measure(sqliteBackend(), ldap.url)));
  for (const pg of [await postgresBackend({ redis: true }), await postgresBackend()]) {
    if (!pg.skip) rows.push(...(await measure(pg, ldap.url)));
    else console.log(pg.skip);
  }
} finally {
  ldap.stop();
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const md = `# Directory sync benchmark

Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npx node bench/directory-sync.ts\` on ${cpu}, \`nproc\` = ${os.availableParallelism()}, Node ${process.versions.node}.
slapd (Debian OpenLDAP ${'2.5'}, back-mdb) and Gatehouse run on the same machine (nothing pinned); the directory holds
${USERS.toLocaleString('en')} inetOrgPerson users in 10 OUs and ${GROUPS} groups of ${USERS / GROUPS} members each. Each figure is the wall time of
\`POST /api/v1/tenants/T/directories/ID/sync {"wait": true}\` (paged search at 500 entries a page, every user and group
written, memberships set, OUs and domains created), one run each.

| Store | Sync | Users read | New | Changed | Memberships added | Time | Users/s |
|---|---|---:|---:|---:|---:|---:|---:|
${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}
`;
fs.writeFileSync(path.join(import.meta.dirname, 'RESULTS-directory.md'), md);
console.log(md);
