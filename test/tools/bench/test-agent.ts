/**
 * A minimal in-test SIP agent (SipEndpoint.onInvite + RtpSession) for the
 * benchmark's tests, because startServer does not answer SIP yet. Modes:
 * `echo` returns the caller's audio; `reply` plays a short greeting tone,
 * answers each caller utterance `replyDelayMs` after its energy-detected end
 * with a 1.5 s tone, and stops that tone at once when the caller talks over
 * it (barge-in).
 */
import { RtpSession } from '../../../media/rtp/index.ts';
import { answerOffer } from '../../../media/sdp/index.ts';
import { SipEndpoint } from '../../../media/sip/index.ts';
import { frameDbfs } from '../../../tools/bench/voice.ts';

export interface TestAgent {
  target: string;
  calls: number;
  close(): Promise<void>;
}

function tone(ms: number, freq = 440): Int16Array {
  const out = new Int16Array((ms * 8000) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.sin((2 * Math.PI * freq * i) / 8000) * 8000);
  return out;
}

export async function startTestAgent(mode: 'echo' | 'reply', options: { replyDelayMs?: number } = {}): Promise<TestAgent> {
  const endpoint = await SipEndpoint.create({ host: '127.0.0.1', udpPort: 0, tcpPort: null, guard: false });
  const sessions = new Set<RtpSession>();
  const agent: TestAgent = {
    target: `sip:127.0.0.1:${endpoint.ports.udp}`,
    calls: 0,
    close: async () => {
      await Promise.all([...sessions].map((s) => s.close()));
      await endpoint.close();
    },
  };
  endpoint.onInvite(async (call) => {
    const session = await RtpSession.open({ bindAddress: '127.0.0.1', codec: { name: 'PCMU', payloadType: 0 }, inactivityTimeoutMs: 0 });
    const answer = answerOffer(call.offer ?? '', { address: '127.0.0.1', port: session.localPort, codecs: ['PCMU'] });
    if (!answer.ok) {
      call.reject(488);
      await session.close();
      return;
    }
    session.setRemote({ address: answer.remote.address, port: answer.remote.port, rtcpPort: answer.remote.rtcpPort });
    sessions.add(session);
    agent.calls++;
    const dialog = call.accept(answer.sdp);
    const end = (): void => { sessions.delete(session); void session.close(); };
    dialog.once('bye', end);
    dialog.once('terminated', end);
    if (mode === 'echo') {
      session.on('audio', (frame) => session.sendFrame(frame.pcm));
      return;
    }
    session.sendFrame(tone(400, 330));
    let speaking = false;
    let quietFrames = 0;
    session.on('audio', (frame) => {
      const voiced = frameDbfs(frame.pcm) > -45;
      if (voiced) {
        if (session.queuedMs > 0) session.clearOutgoing();
        speaking = true;
        quietFrames = 0;
      } else if (speaking && ++quietFrames >= 10) {
        speaking = false;
        setTimeout(() => session.sendFrame(tone(1500)), options.replyDelayMs ?? 100).unref();
      }
    });
  });
  return agent;
}
