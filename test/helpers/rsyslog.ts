// A throw-away syslog receiver (Debian's rsyslog) for a test file: listening on 127.0.0.1 on
// free ports, UDP and TCP, from its own temporary configuration, writing what it receives to
// a file the test reads; stopped by its process. Two files: one line per message as rsyslog
// parsed it (RFC 5424 fields, to show it understood the message), and the raw messages.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './server.ts';
import { waitFor } from './wait.ts';

export const RSYSLOGD = '/usr/sbin/rsyslogd';
export const haveRsyslog = () => fs.existsSync(RSYSLOGD);

export interface Rsyslog {
  udpPort: number;
  tcpPort: number;
  /** Messages as rsyslog parsed them: one JSON object per message. */
  parsed(): Array<{
    input: string;
    pri: string;
    facility: string;
    severity: string;
    app: string;
    procid: string;
    msgid: string;
    sd: string;
    msg: string;
    hostname: string;
  }>;
  stop(): Promise<void>;
}

/** `ports`: to start a receiver again where a stopped one listened. */
export async function startRsyslog(ports: { udpPort?: number; tcpPort?: number } = {}): Promise<Rsyslog> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-rsyslog-'));
  const udpPort = ports.udpPort ?? (await freePort());
  const tcpPort = ports.tcpPort ?? (await freePort());
  const out = path.join(dir, 'parsed.log');
  fs.writeFileSync(
    path.join(dir, 'rsyslog.conf'),
    `
global(workDirectory="${dir}" maxMessageSize="64k")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="${udpPort}" name="udp")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}" name="tcp")
template(name="parsed" type="list") {
  constant(value="{\\"input\\":\\"") property(name="inputname" format="json")
  constant(value="\\",\\"pri\\":\\"") property(name="pri" format="json")
  constant(value="\\",\\"facility\\":\\"") property(name="syslogfacility" format="json")
  constant(value="\\",\\"severity\\":\\"") property(name="syslogseverity" format="json")
  constant(value="\\",\\"hostname\\":\\"") property(name="hostname" format="json")
  constant(value="\\",\\"app\\":\\"") property(name="app-name" format="json")
  constant(value="\\",\\"procid\\":\\"") property(name="procid" format="json")
  constant(value="\\",\\"msgid\\":\\"") property(name="msgid" format="json")
  constant(value="\\",\\"sd\\":\\"") property(name="structured-data" format="json")
  constant(value="\\",\\"msg\\":\\"") property(name="msg" format="json" droplastlf="on")
  constant(value="\\"}\\n")
}
*.* action(type="omfile" file="${out}" template="parsed")
`,
  );
  const child: ChildProcess = spawn(RSYSLOGD, ['-n', '-f', path.join(dir, 'rsyslog.conf'), '-i', path.join(dir, 'rsyslogd.pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d) => {
    log += d;
  });
  child.stderr!.on('data', (d) => {
    log += d;
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const parsed = () =>
    fs.existsSync(out)
      ? fs
          .readFileSync(out, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  // Ready when TCP accepts and a UDP probe has been written (UDP has no other way to tell).
  try {
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          if (child.exitCode !== null) throw new Error(`rsyslogd exited: ${log}`);
          const s = net.connect(tcpPort, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      { what: 'rsyslogd to listen on TCP', interval: 100 },
    );
    const probe = dgram.createSocket('udp4');
    await waitFor(
      async () => {
        probe.send('<14>1 - - probe - - - ready', udpPort, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 100));
        return parsed().some((p) => p.app === 'probe');
      },
      { what: 'rsyslogd to receive on UDP', interval: 200 },
    );
    probe.close();
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${log}`);
  }
  return {
    udpPort,
    tcpPort,
    parsed: () => parsed().filter((p) => p.app !== 'probe'),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
