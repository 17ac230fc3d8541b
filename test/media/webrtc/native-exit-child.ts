/**
 * A process that has used node-datachannel (a peer whose native threads keep it alive), ended the way a test
 * file ends: `process.exitCode` set as uvu sets it, then exitAfterNativePeers. argv: the exit code to
 * leave in `process.exitCode`, and optionally the code to pass explicitly.
 */
import nodeDataChannel from 'node-datachannel';
import { exitAfterNativePeers } from '../../../media/webrtc/native-exit.ts';

const [exitCode, explicit] = process.argv.slice(2).map(Number);
const pc = new nodeDataChannel.PeerConnection('exit-child', { iceServers: [], bindAddress: '127.0.0.1' });
pc.createDataChannel('keep-alive');
pc.setLocalDescription();
process.exitCode = exitCode;
exitAfterNativePeers({ delayMs: 50, ...(explicit === undefined ? {} : { code: explicit }) });
