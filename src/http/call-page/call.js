// The browser side of /call/<agentId>: microphone in, the agent's voice out, live redacted captions.
// Signalling is one WebSocket to /v1/webrtc on this origin (src/webrtc/signalling.ts); the call token comes
// in the page's fragment (#token=...), which browsers never send to a server, and is removed from the
// address bar at once. No external script, style or server: the page works inside a closed network.
const agentId = decodeURIComponent(location.pathname.split('/').pop() ?? '');
const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (location.hash) history.replaceState(null, '', location.pathname);

const $ = (id) => document.getElementById(id);
const statusLine = $('status');
const callButton = $('call');
const muteButton = $('mute');
const hangupButton = $('hangup');
const level = $('level');
const captionList = $('captions');
const remoteAudio = $('remote');

/**
 * What a test (or a curious operator) can read: the call's state, the agent audio level over time and the
 * captions, each stamped in ms since `t0` (performance.now() when the page loaded).
 */
const t0 = performance.now();
const now = () => Math.round(performance.now() - t0);
const state = { t0, phase: 'idle', callId: null, endReason: null, error: null, levels: [], captions: [], muted: false };
window.smartalexCall = state;

let pc = null;
let ws = null;
let mic = null;
let audioContext = null;
let levelTimer = null;

function setStatus(text) {
  statusLine.textContent = text;
}

function setPhase(phase) {
  state.phase = phase;
  callButton.disabled = phase !== 'idle' && phase !== 'ended';
  hangupButton.disabled = phase !== 'connecting' && phase !== 'connected';
  muteButton.disabled = phase === 'ended'; // one may join muted
}

function addCaption(speaker, text) {
  state.captions.push({ speaker, text, t: now() });
  const item = document.createElement('li');
  const who = document.createElement('span');
  who.className = 'speaker';
  who.textContent = speaker === 'agent' ? 'Agent:' : 'You:';
  item.append(who, document.createTextNode(text));
  captionList.append(item);
}

/** The agent's audio level through WebAudio, sampled every 50 ms (what the meter shows). */
function watchLevel(stream) {
  audioContext = new AudioContext();
  const analyser = audioContext.createAnalyser();
  analyser.fftSize = 1024;
  audioContext.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  levelTimer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    const rms = Math.sqrt(sum / samples.length);
    level.value = Math.min(1, rms * 4);
    state.levels.push({ t: now(), rms });
    if (state.levels.length > 12000) state.levels.splice(0, 6000);
  }, 50);
}

function finish(reason) {
  if (state.phase === 'ended') return;
  state.endReason = reason;
  setPhase('ended');
  setStatus(`Call ended (${reason}).`);
  clearInterval(levelTimer);
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'hangup');
  pc?.close();
  mic?.getTracks().forEach((t) => t.stop());
  void audioContext?.close();
}

function gathered(connection) {
  if (connection.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 5000); // host candidates come at once; never wait forever
    connection.addEventListener('icegatheringstatechange', () => {
      if (connection.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
    });
  });
}

async function call() {
  if (!token) {
    setStatus('This page needs a call token: open the link your administrator minted.');
    return;
  }
  setPhase('connecting');
  setStatus('Asking for the microphone...');
  try {
    mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
  } catch {
    state.error = 'microphone';
    setStatus('The microphone is not available.');
    setPhase('idle');
    return;
  }
  for (const track of mic.getAudioTracks()) track.enabled = !state.muted;
  setStatus('Connecting...');
  pc = new RTCPeerConnection({ iceServers: [] });
  for (const track of mic.getAudioTracks()) pc.addTrack(track, mic);
  pc.addEventListener('track', (event) => {
    const stream = event.streams[0] ?? new MediaStream([event.track]);
    remoteAudio.srcObject = stream; // Chromium feeds WebAudio from a remote track only while it also plays
    void remoteAudio.play().catch(() => undefined);
    watchLevel(stream);
  });
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'connected') { setPhase('connected'); setStatus('Connected: speak to the agent.'); }
    if (pc.connectionState === 'failed') finish('connection-failed');
  });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/webrtc`);
  ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'offer', token, sdp: pc.localDescription.sdp })));
  ws.addEventListener('message', (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    if (message.type === 'call') {
      state.callId = message.callId;
    } else if (message.type === 'answer') {
      void pc.setRemoteDescription({ type: 'answer', sdp: message.sdp }).catch(() => finish('bad-answer'));
    } else if (message.type === 'caption') {
      addCaption(message.speaker, message.text);
    } else if (message.type === 'ended') {
      finish(message.reason);
    } else if (message.type === 'error') {
      state.error = message.code;
      setStatus(`The call could not go on: ${message.message}`);
    }
  });
  ws.addEventListener('close', () => finish(state.error ?? 'disconnected'));
}

callButton.addEventListener('click', () => { void call(); });
// Hanging up asks the server to end the call (so the record says the caller hung up) and waits for its
// 'ended'; a server that does not answer within five seconds is left anyway.
hangupButton.addEventListener('click', () => {
  if (ws?.readyState !== WebSocket.OPEN) return finish('hangup');
  ws.send(JSON.stringify({ type: 'hangup' }));
  hangupButton.disabled = true;
  setStatus('Hanging up...');
  setTimeout(() => finish('hangup'), 5000);
});
muteButton.addEventListener('click', () => {
  state.muted = !state.muted;
  for (const track of mic?.getAudioTracks() ?? []) track.enabled = !state.muted;
  muteButton.setAttribute('aria-pressed', String(state.muted));
  muteButton.textContent = state.muted ? 'Unmute' : 'Mute';
});
setPhase('idle');
if (!token) setStatus('This page needs a call token: open the link your administrator minted.');
