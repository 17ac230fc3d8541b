/// <reference lib="dom" />
/**
 * One browser call to an agent, in the browser: the microphone in, the agent's voice out (played through an
 * <audio> element the caller owns and measured through WebAudio), live redacted captions, mute and hang-up.
 * Signalling is one WebSocket carrying the JSON messages of src/webrtc/signalling.ts; the offer waits for its
 * host candidates (non-trickle). Shared by the server's own call page (src/http/call-page/call.ts) and the
 * embeddable widget (src/http/widget/widget.ts), which differ only in where the call token comes from.
 *
 * One object per call: `start()` once, then every end (the server's, a hang-up, a failure) goes through one
 * `finish`, which stops the microphone and closes the socket and the peer connection.
 */

export type BrowserCallPhase = 'idle' | 'microphone' | 'connecting' | 'connected' | 'ended';

/** Where to signal and with which call token (minted right before, as tokens are short-lived). */
export interface CallTicket { signallingUrl: string; token: string }

/** A refusal with a code the page can turn into words (a token that could not be minted, the microphone denied). */
export class CallStartError extends Error {
  override name = 'CallStartError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export interface BrowserCallEvents {
  phase: BrowserCallPhase;
  /** The server started the call (its id). */
  call: string;
  caption: { speaker: 'caller' | 'agent'; text: string };
  /** The agent's audio level (RMS, full scale 1), every 50 ms. */
  level: number;
  /** Why the call could not go on: `code` is the server's, `microphone`, or a CallStartError's. */
  error: { code: string; message: string };
  ended: string;
}

type Listeners = { [K in keyof BrowserCallEvents]: Set<(value: BrowserCallEvents[K]) => void> };

const ICE_GATHERING_MAX_MS = 5000;
const HANGUP_ANSWER_MAX_MS = 5000;

function gathered(connection: RTCPeerConnection): Promise<void> {
  if (connection.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ICE_GATHERING_MAX_MS); // host candidates come at once; never wait forever
    connection.addEventListener('icegatheringstatechange', () => {
      if (connection.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
    });
  });
}

export class BrowserCall {
  phase: BrowserCallPhase = 'idle';
  callId: string | null = null;
  error: { code: string; message: string } | null = null;
  endReason: string | null = null;
  private muted: boolean;
  private readonly listeners: Listeners = { phase: new Set(), call: new Set(), caption: new Set(), level: new Set(), error: new Set(), ended: new Set() };
  private pc: RTCPeerConnection | null = null;
  private ws: WebSocket | null = null;
  private mic: MediaStream | null = null;
  private audioContext: AudioContext | null = null;
  private levelTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly audio: HTMLAudioElement, options: { muted?: boolean } = {}) {
    this.muted = options.muted ?? false;
  }

  on<K extends keyof BrowserCallEvents>(type: K, listener: (value: BrowserCallEvents[K]) => void): () => void {
    const set = this.listeners[type] as Set<(value: BrowserCallEvents[K]) => void>;
    set.add(listener);
    return () => set.delete(listener);
  }

  private emit<K extends keyof BrowserCallEvents>(type: K, value: BrowserCallEvents[K]): void {
    for (const listener of this.listeners[type] as Set<(value: BrowserCallEvents[K]) => void>) listener(value);
  }

  /** A method, not a test of `phase` inline: TypeScript would keep `phase` narrowed across the awaits in start(). */
  private isOver(): boolean {
    return this.phase === 'ended';
  }

  private setPhase(phase: BrowserCallPhase): void {
    this.phase = phase;
    this.emit('phase', phase);
  }

  private fail(code: string, message: string): void {
    if (this.phase === 'ended') return;
    this.error = { code, message };
    this.emit('error', this.error);
    this.finish(code);
  }

  /** Asks for the microphone, then for a ticket (`ticket` mints the token), then connects. */
  async start(ticket: () => Promise<CallTicket>): Promise<void> {
    if (this.phase !== 'idle') return;
    this.setPhase('microphone');
    try {
      this.mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch {
      return this.fail('microphone', 'The microphone is not available.');
    }
    if (this.isOver()) { this.stopMicrophone(); return; } // hung up while the browser asked
    this.setMuted(this.muted);
    this.setPhase('connecting');
    let granted: CallTicket;
    try {
      granted = await ticket();
    } catch (error) {
      if (error instanceof CallStartError) return this.fail(error.code, error.message);
      return this.fail('network', 'The agent could not be reached.');
    }
    if (this.isOver()) return;
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    for (const track of this.mic.getAudioTracks()) pc.addTrack(track, this.mic);
    pc.addEventListener('track', (event) => {
      const stream = event.streams[0] ?? new MediaStream([event.track]);
      this.audio.srcObject = stream; // Chromium feeds WebAudio from a remote track only while it also plays
      void this.audio.play().catch(() => undefined);
      this.watchLevel(stream);
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected' && this.phase === 'connecting') this.setPhase('connected');
      if (pc.connectionState === 'failed') this.fail('connection-failed', 'The media connection failed.');
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (this.isOver()) return;
    const ws = new WebSocket(granted.signallingUrl);
    this.ws = ws;
    ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'offer', token: granted.token, sdp: pc.localDescription?.sdp })));
    ws.addEventListener('message', (event) => this.onMessage(String(event.data)));
    ws.addEventListener('close', () => this.finish(this.error?.code ?? 'disconnected'));
  }

  private onMessage(data: string): void {
    let message: { type?: unknown; callId?: unknown; sdp?: unknown; speaker?: unknown; text?: unknown; reason?: unknown; code?: unknown; message?: unknown };
    try { message = JSON.parse(data) as typeof message; } catch { return; }
    if (message.type === 'call' && typeof message.callId === 'string') {
      this.callId = message.callId;
      this.emit('call', message.callId);
    } else if (message.type === 'answer' && typeof message.sdp === 'string') {
      void this.pc?.setRemoteDescription({ type: 'answer', sdp: message.sdp }).catch(() => this.fail('bad-answer', 'The server\'s answer was not understood.'));
    } else if (message.type === 'caption' && (message.speaker === 'caller' || message.speaker === 'agent') && typeof message.text === 'string') {
      this.emit('caption', { speaker: message.speaker, text: message.text });
    } else if (message.type === 'ended') {
      this.finish(typeof message.reason === 'string' ? message.reason : 'ended');
    } else if (message.type === 'error') {
      this.error = { code: String(message.code), message: String(message.message) };
      this.emit('error', this.error);
    }
  }

  /** The agent's audio level through WebAudio, sampled every 50 ms. */
  private watchLevel(stream: MediaStream): void {
    this.audioContext = new AudioContext();
    const analyser = this.audioContext.createAnalyser();
    analyser.fftSize = 1024;
    this.audioContext.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.levelTimer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += v * v;
      this.emit('level', Math.sqrt(sum / samples.length));
    }, 50);
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    for (const track of this.mic?.getAudioTracks() ?? []) track.enabled = !muted;
  }

  /**
   * Asks the server to end the call (so the record says the caller hung up) and waits for its 'ended'; a
   * server that does not answer within five seconds is left anyway. Before the socket is open it just ends.
   */
  hangUp(): void {
    if (this.phase === 'ended') return;
    if (this.ws?.readyState !== WebSocket.OPEN) return this.finish('hangup');
    this.ws.send(JSON.stringify({ type: 'hangup' }));
    setTimeout(() => this.finish('hangup'), HANGUP_ANSWER_MAX_MS);
  }

  private stopMicrophone(): void {
    for (const track of this.mic?.getTracks() ?? []) track.stop();
  }

  private finish(reason: string): void {
    if (this.phase === 'ended') return;
    this.endReason = reason;
    clearInterval(this.levelTimer);
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, 'hangup');
    this.pc?.close();
    this.stopMicrophone();
    void this.audioContext?.close();
    this.setPhase('ended');
    this.emit('ended', reason);
  }
}
