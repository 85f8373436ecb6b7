import { readdirSync, readlinkSync, readFileSync } from 'node:fs';

export interface TcpSocket {
  local: string;
  remote: string;
  state: string;
}

const STATES: Record<string, string> = { '01': 'ESTABLISHED', '02': 'SYN_SENT', '0A': 'LISTEN', '06': 'TIME_WAIT', '08': 'CLOSE_WAIT' };

function decodeV4(hex: string): string {
  const [ip, port] = hex.split(':') as [string, string];
  const bytes = [0, 2, 4, 6].map((i) => Number.parseInt(ip.slice(i, i + 2), 16)).reverse();
  return `${bytes.join('.')}:${Number.parseInt(port, 16)}`;
}

function decodeV6(hex: string): string {
  const [ip, port] = hex.split(':') as [string, string];
  // IPv4-mapped (::ffff:a.b.c.d) and loopback (::1) are what matter here.
  if (ip.startsWith('0000000000000000FFFF0000')) return `${decodeV4(`${ip.slice(24)}:${port}`)}`;
  if (ip === '00000000000000000000000001000000') return `[::1]:${Number.parseInt(port, 16)}`;
  if (/^0+$/.test(ip)) return `[::]:${Number.parseInt(port, 16)}`;
  return `[${ip}]:${Number.parseInt(port, 16)}`;
}

/** The TCP sockets process `pid` holds (Linux /proc), with their addresses decoded. */
export function tcpSocketsOf(pid: number): TcpSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch { /* fd closed meanwhile */ }
  }
  const out: TcpSocket[] = [];
  for (const [file, decode] of [['tcp', decodeV4], ['tcp6', decodeV6]] as const) {
    let text = '';
    try { text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9] as string)) continue;
      out.push({ local: decode(f[1] as string), remote: decode(f[2] as string), state: STATES[f[3] as string] ?? (f[3] as string) });
    }
  }
  return out;
}

/** True for 127.0.0.0/8, ::1, and the unspecified peer of a listening socket. */
export function isLoopbackOrUnbound(address: string): boolean {
  return /^127\./.test(address) || address.startsWith('[::1]') || /^0\.0\.0\.0:0$/.test(address) || address === '[::]:0';
}
