/**
 * The instrument without the instrument's jitter (issue 17): the callers'
 * view of the server's pacing includes the bench driver's own scheduling.
 * With `--pcap <file>` the benchmark captures loopback UDP with tcpdump
 * (Debian `tcpdump`; capturing needs root or CAP_NET_RAW), and the kernel's
 * timestamp of each packet leaving the server is when its send ran, before
 * any receiver woke up. Pacing jitter from those is the server's alone:
 * per RTP stream from the server's ports, for consecutive packets (next
 * sequence number, no marker), |arrival gap - RTP timestamp gap| (RFC 3550
 * A.8's D, as the callers measure it).
 *
 * The pcap reader handles classic pcap (micro- or nanosecond, either byte
 * order) with Ethernet (what Linux `lo` gives), Linux cooked (SLL, SLL2) or
 * raw IP link types, IPv4 and IPv6, UDP only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface UdpPacket {
  /** Capture time (kernel timestamp), ms since the epoch. */
  timeMs: number;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

const LINK_ETHERNET = 1;
const LINK_RAW = 101;
const LINK_SLL = 113;
const LINK_SLL2 = 276;

/** UDP packets of a classic pcap file; anything else in it is skipped. Throws on a file that is not pcap. */
export function readPcapUdp(buf: Uint8Array): UdpPacket[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 24) throw new Error('not a pcap file (too short)');
  const magic = view.getUint32(0, true);
  let little: boolean;
  let nano: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) { little = true; nano = magic === 0xa1b23c4d; }
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) { little = false; nano = magic === 0x4d3cb2a1; }
  else throw new Error('not a classic pcap file (pcapng is not read)');
  const link = view.getUint32(20, little) & 0x0fffffff;
  const out: UdpPacket[] = [];
  for (let o = 24; o + 16 <= buf.length;) {
    const sec = view.getUint32(o, little);
    const frac = view.getUint32(o + 4, little);
    const caplen = view.getUint32(o + 8, little);
    const data = o + 16;
    o = data + caplen;
    if (o > buf.length) break; // a capture cut short
    const timeMs = sec * 1000 + (nano ? frac / 1e6 : frac / 1e3);
    let ip = data;
    let ethertype: number;
    if (link === LINK_ETHERNET) { ethertype = view.getUint16(data + 12); ip = data + 14; }
    else if (link === LINK_SLL) { ethertype = view.getUint16(data + 14); ip = data + 16; }
    else if (link === LINK_SLL2) { ethertype = view.getUint16(data); ip = data + 20; }
    else if (link === LINK_RAW) { ethertype = buf[data]! >> 4 === 6 ? 0x86dd : 0x0800; }
    else continue;
    let udp: number;
    if (ethertype === 0x0800) {
      if (buf[ip + 9] !== 17) continue;
      udp = ip + (buf[ip]! & 0x0f) * 4;
    } else if (ethertype === 0x86dd) {
      if (buf[ip + 6] !== 17) continue; // no extension headers on loopback UDP
      udp = ip + 40;
    } else continue;
    if (udp + 8 > o) continue;
    const udpLen = view.getUint16(udp + 4);
    out.push({ timeMs, srcPort: view.getUint16(udp), dstPort: view.getUint16(udp + 2), payload: buf.subarray(udp + 8, Math.min(o, udp + udpLen)) });
  }
  return out;
}

/**
 * Send pacing jitter (ms) of the RTP streams whose source port `fromServer` accepts: one sample per pair of
 * consecutive packets of a stream (sequence number + 1, no marker on the second); 8 kHz clock.
 */
export function rtpSendJitterMs(packets: readonly UdpPacket[], fromServer: (srcPort: number) => boolean, clockRate = 8000): number[] {
  const last = new Map<string, { seq: number; ts: number; timeMs: number }>();
  const out: number[] = [];
  for (const p of packets) {
    const b = p.payload;
    if (!fromServer(p.srcPort) || b.length < 12 || b[0]! >> 6 !== 2) continue;
    if (b[1]! >= 192 && b[1]! <= 223) continue; // RTCP
    const marker = (b[1]! & 0x80) !== 0;
    const seq = (b[2]! << 8) | b[3]!;
    const ts = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
    const ssrc = ((b[8]! << 24) | (b[9]! << 16) | (b[10]! << 8) | b[11]!) >>> 0;
    const key = `${p.srcPort}>${p.dstPort}/${ssrc}`;
    const prev = last.get(key);
    if (prev && !marker && seq === ((prev.seq + 1) & 0xffff)) {
      const tsGapMs = (((ts - prev.ts) >>> 0) * 1000) / clockRate;
      out.push(Math.abs(p.timeMs - prev.timeMs - tsGapMs));
    }
    last.set(key, { seq, ts, timeMs: p.timeMs });
  }
  return out;
}

/** A running tcpdump on loopback; stop() ends it and waits until the file is complete. */
export interface PcapCapture {
  stop(): Promise<void>;
}

/** Starts `tcpdump -i lo` writing UDP to `file`; rejects with a one-line reason when it cannot (not installed, no permission). */
export async function startPcapCapture(file: string, command = 'tcpdump'): Promise<PcapCapture> {
  const child: ChildProcess = spawn(command, ['-i', 'lo', '-n', '-U', '-s', '256', '-w', file, 'udp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      if (/listening on/.test(stderr)) resolve();
    });
    child.once('error', (error) => reject(new Error(`--pcap needs ${command} (Debian: apt-get install tcpdump): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`${command} stopped before capturing (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`)));
  });
  await listening;
  return {
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
    },
  };
}
