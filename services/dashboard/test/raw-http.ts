import { connect } from 'node:net';

/** One response as read off the wire, checked to be well-formed HTTP/1.x. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A request as bytes: any target and header values, sent as they are (a client library would refuse or encode them). */
export function rawRequest(o: { method?: string; target: string | Buffer; headers?: Array<[string, string | Buffer]> }): Buffer {
  const lines: Buffer[] = [Buffer.from(`${o.method ?? 'GET'} `), Buffer.from(o.target), Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\n')];
  for (const [name, value] of o.headers ?? []) lines.push(Buffer.from(`${name}: `), Buffer.from(value), Buffer.from('\r\n'));
  lines.push(Buffer.from('Connection: close\r\n\r\n'));
  return Buffer.concat(lines);
}

/**
 * Parses one response: status line, headers, and a body framed by content-length, chunks or the
 * close. Throws, naming the fault, on anything else. An event stream is complete once its head is.
 */
export function parseResponse(raw: Buffer, method = 'GET'): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete response head in ${raw.length} bytes: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  const [statusLine = '', ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/.exec(statusLine);
  if (!m) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const h = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!h) throw new Error(`not a header line: ${JSON.stringify(line)}`);
    headers[(h[1] as string).toLowerCase()] = h[2] as string;
  }
  const status = Number(m[1]);
  let body = raw.subarray(end + 4);
  if (headers['content-type']?.startsWith('text/event-stream')) return { status, headers, body: '' };
  if (method === 'HEAD' || status === 304 || status === 204) {
    if (body.length > 0) throw new Error(`${body.length} bytes after a response that has no body`);
  } else if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (let at = 0; ;) {
      const eol = body.indexOf('\r\n', at);
      const size = eol < 0 ? Number.NaN : Number.parseInt(body.subarray(at, eol).toString('latin1'), 16);
      if (!Number.isInteger(size)) throw new Error('a bad chunk size line');
      if (size === 0) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (body.length !== length) throw new Error(`content-length ${length} but ${body.length} bytes of body`);
  }
  return { status, headers, body: body.toString('utf8') };
}

/**
 * Sends `request` over a fresh connection to 127.0.0.1:`port` and reads the response until the
 * server closes. A reset, a hang past `timeoutMs` or a malformed response rejects.
 */
export function send(port: number, request: Buffer, o: { timeoutMs?: number; method?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${o.timeoutMs ?? 5_000} ms (got ${Buffer.concat(chunks).length} bytes)`));
    }, o.timeoutMs ?? 5_000);
    const settle = () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks), o.method));
      } catch (err) {
        reject(err as Error);
      }
    };
    socket.on('data', (b: Buffer) => {
      chunks.push(b);
      // An event stream does not end: its head is the whole answer here.
      if (/^HTTP\/1\.1 200[^]*?\r\ncontent-type: text\/event-stream[^]*?\r\n\r\n/i.test(Buffer.concat(chunks).toString('latin1'))) {
        socket.destroy();
        settle();
      }
    });
    socket.on('error', (err) => {
      // A reset after the whole response (the server closing on a request it refused) loses nothing.
      if (chunks.length > 0) return settle();
      clearTimeout(timer);
      reject(new Error(`connection failed before a response: ${err.message}`));
    });
    socket.on('end', settle);
  });
}

/** GET /healthz, answered 200: the server still serves. */
export async function healthz(port: number): Promise<number> {
  return (await send(port, rawRequest({ target: '/healthz' }))).status;
}
