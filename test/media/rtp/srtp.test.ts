/**
 * The SRTP transform against published vectors: RFC 3711 Appendix B.2
 * (AES-CM keystream) and B.3 (key derivation), the AES_CM_128_HMAC_SHA1_80
 * packet known answer of libsrtp's self-test (srtp_validate, on the B.3
 * master key), and RFC 7714 section 16 (RTP) and 17 (RTCP) for AES-GCM,
 * both key sizes, session keys given directly as the RFC does. Then the
 * receive side's duties: forged, replayed and too-old packets refused,
 * rollover across sequence number 65535, and a round trip both suites.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCipheriv } from 'node:crypto';
import { deriveSessionKey, SrtpContext, SrtpError, type SrtpSessionKeys } from '../../../media/rtp/srtp.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    if (error instanceof SrtpError) return error.reason;
    throw error;
  }
  return 'accepted';
}

test('RFC 3711 B.2: the AES-CM keystream for the given session key and salt', () => {
  // Through the transform: SSRC 0, ROC 0, SEQ 0, so the IV is the shifted salt; a zero payload encrypts to the keystream.
  const keys: SrtpSessionKeys = { key: hex('2B7E151628AED2A6ABF7158809CF4F3C'), salt: hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), auth: Buffer.alloc(20) };
  const ctx = new SrtpContext('AES_CM_128_HMAC_SHA1_80', { rtp: keys, rtcp: keys });
  const packet = Buffer.alloc(12 + 48);
  packet[0] = 0x80;
  const out = ctx.protectRtp(packet);
  assert.is(out.subarray(12, 60).toString('hex').toUpperCase(),
    'E03EAD0935C95E80E166B16DD92B4EB4' + 'D23513162B02D0F72A43A2FE4A5F97AB' + '41E95B3BB0A2E8DD477901E4FCA894C0');
  // The segment's tail (blocks 0xFEFF..0xFF01), as the RFC tabulates: the same AES-CTR counter arithmetic.
  const c = createCipheriv('aes-128-ctr', keys.key, hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000'));
  const segment = c.update(Buffer.alloc(65282 * 16));
  assert.is(segment.subarray(0xfeff * 16).toString('hex').toUpperCase(),
    'EC8CDF7398607CB0F2D21675EA9EA1E4' + '362B7C3C6773516318A077D7FC5073AE' + '6A2CC3787889374FBEB4C81B17BA6C44');
});

test('RFC 3711 B.3: key derivation (cipher key, salt, auth key)', () => {
  const key = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const salt = hex('0EC675AD498AFEEBB6960B3AABE6');
  assert.is(deriveSessionKey(key, salt, 0, 16).toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
  assert.is(deriveSessionKey(key, salt, 2, 14).toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
  assert.is(deriveSessionKey(key, salt, 1, 94).toString('hex').toUpperCase(),
    'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE'
    + 'E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25'
    + '6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2');
});

const CM_MASTER_KEY = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const CM_MASTER_SALT = hex('0EC675AD498AFEEBB6960B3AABE6');

test('AES_CM_128_HMAC_SHA1_80: RTP and RTCP known answers (libsrtp self-test on the B.3 master key), and back', () => {
  const plain = hex('800f1234 decafbad cafebabe abababab abababab abababab abababab');
  const protectedRtp = hex('800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402 b78d6acc 99ea179b 8dbb');
  const tx = SrtpContext.fromMaster('AES_CM_128_HMAC_SHA1_80', CM_MASTER_KEY, CM_MASTER_SALT);
  assert.is(tx.protectRtp(plain).toString('hex'), protectedRtp.toString('hex'));
  const rx = SrtpContext.fromMaster('AES_CM_128_HMAC_SHA1_80', CM_MASTER_KEY, CM_MASTER_SALT);
  assert.is(rx.unprotectRtp(protectedRtp).toString('hex'), plain.toString('hex'));
  assert.is(refusal(() => rx.unprotectRtp(protectedRtp)), 'replayed');

  const rtcp = hex('81c8000b cafebabe abababab abababab abababab abababab');
  const protectedRtcp = hex('81c8000b cafebabe 7128035b e487b9bd bef89041 f977a5a8 80000001 993e08cd 54d6c123 0798');
  assert.is(tx.protectRtcp(rtcp, 1).toString('hex'), protectedRtcp.toString('hex'));
  assert.is(rx.unprotectRtcp(protectedRtcp).toString('hex'), rtcp.toString('hex'));
  assert.is(refusal(() => rx.unprotectRtcp(protectedRtcp)), 'replayed');
});

// RFC 7714 sections 16 and 17: session key and salt given directly.
const GCM_KEY_128 = hex('000102030405060708090a0b0c0d0e0f');
const GCM_KEY_256 = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const GCM_SALT = hex('517569642070726f2071756f'); // "Quid pro quo"
const RFC7714_RTP = hex('8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573');
const RFC7714_RTCP = hex('81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef');

const gcm = (key: Buffer): SrtpContext => new SrtpContext('AEAD_AES_256_GCM', { rtp: { key, salt: GCM_SALT }, rtcp: { key, salt: GCM_SALT } });

test('RFC 7714 16.1 and 16.2: SRTP AEAD_AES_128_GCM and AEAD_AES_256_GCM encryption and decryption', () => {
  const cases: Array<[Buffer, string]> = [
    [GCM_KEY_128, '8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce'],
    [GCM_KEY_256, '8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238 9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13'],
  ];
  for (const [key, expected] of cases) {
    assert.is(gcm(key).protectRtp(RFC7714_RTP).toString('hex'), hex(expected).toString('hex'));
    const rx = gcm(key);
    assert.is(rx.unprotectRtp(hex(expected)).toString('hex'), RFC7714_RTP.toString('hex'));
    assert.is(refusal(() => rx.unprotectRtp(hex(expected))), 'replayed');
    const forged = hex(expected);
    forged[20]! ^= 1;
    assert.is(refusal(() => gcm(key).unprotectRtp(forged)), 'auth-failed');
  }
});

test('RFC 7714 17: SRTCP with AES-GCM, encrypted and tag-only, both key sizes', () => {
  assert.is(gcm(GCM_KEY_128).protectRtcp(RFC7714_RTCP, 0x5d4).toString('hex'),
    hex('81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4').toString('hex'));
  const encrypted256 = hex('81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50 a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4');
  assert.is(gcm(GCM_KEY_256).unprotectRtcp(encrypted256).toString('hex'), RFC7714_RTCP.toString('hex'));
  const tagOnly128 = hex('81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4');
  assert.is(gcm(GCM_KEY_128).unprotectRtcp(tagOnly128).toString('hex'), RFC7714_RTCP.toString('hex'));
  const tagOnly256 = hex('81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef 91db4afb feee5a97 8fab4393 ed2615fe 000005d4');
  assert.is(gcm(GCM_KEY_256).unprotectRtcp(tagOnly256).toString('hex'), RFC7714_RTCP.toString('hex'));
  const forged = Buffer.from(tagOnly256);
  forged[12]! ^= 1;
  assert.is(refusal(() => gcm(GCM_KEY_256).unprotectRtcp(forged)), 'auth-failed');
});

function rtp(seq: number, payload: number): Buffer {
  const p = Buffer.alloc(12 + 160, payload);
  p[0] = 0x80;
  p[1] = 0;
  p.writeUInt16BE(seq, 2);
  p.writeUInt32BE(seq * 160, 4);
  p.writeUInt32BE(0x11223344, 8);
  return p;
}

for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_256_GCM'] as const) {
  test(`${suite}: rollover past sequence 65535, reordering inside the window, replays and stale packets refused`, () => {
    const masterKey = Buffer.alloc(suite === 'AEAD_AES_256_GCM' ? 32 : 16, 7);
    const masterSalt = Buffer.alloc(suite === 'AEAD_AES_256_GCM' ? 12 : 14, 9);
    const tx = SrtpContext.fromMaster(suite, masterKey, masterSalt);
    const rx = SrtpContext.fromMaster(suite, masterKey, masterSalt);
    const sent = new Map<number, Buffer>();
    const seqs: number[] = [];
    for (let i = 0; i < 300; i++) seqs.push((65400 + i) & 0xffff); // crosses 65535 -> 0: ROC 0 -> 1
    for (const seq of seqs) sent.set(seq, tx.protectRtp(rtp(seq, seq & 0xff)));
    // Delivered with neighbours swapped: the window takes them out of order.
    for (let i = 0; i + 1 < seqs.length; i += 2) {
      for (const seq of [seqs[i + 1]!, seqs[i]!]) {
        const plain = rx.unprotectRtp(sent.get(seq)!);
        assert.is(plain.readUInt16BE(2), seq);
        assert.is(plain[20], seq & 0xff, `payload of ${seq} decrypted (the index after rollover is right)`);
      }
    }
    assert.is(refusal(() => rx.unprotectRtp(sent.get(seqs[299]!)!)), 'replayed');
    assert.is(refusal(() => rx.unprotectRtp(sent.get(seqs[10]!)!)), 'too-old');
    // A packet protected under another key is refused, and does not move the receiver's state.
    const other = SrtpContext.fromMaster(suite, Buffer.alloc(masterKey.length, 1), masterSalt);
    assert.is(refusal(() => rx.unprotectRtp(other.protectRtp(rtp(seqs[299]! + 1, 1)))), 'auth-failed');
    const next = tx.protectRtp(rtp((seqs[299]! + 1) & 0xffff, 42));
    assert.is(rx.unprotectRtp(next)[20], 42);
    // RTCP round trip (compound SR-shaped packet).
    const report = Buffer.alloc(28, 3);
    report[0] = 0x80; report[1] = 200; report.writeUInt16BE(6, 2); report.writeUInt32BE(0x11223344, 4);
    const wire = tx.protectRtcp(report);
    assert.not.equal(wire.subarray(8, 28), report.subarray(8), 'the report is encrypted');
    assert.equal(rx.unprotectRtcp(wire), report);
    assert.is(refusal(() => rx.unprotectRtcp(wire)), 'replayed');
    assert.is(refusal(() => rx.unprotectRtp(Buffer.alloc(8))), 'too-short');
  });
}

test('wrong master key or salt lengths are refused, naming the suite, never the key', () => {
  assert.throws(() => SrtpContext.fromMaster('AEAD_AES_256_GCM', Buffer.alloc(16, 0xab), Buffer.alloc(12)), (e: Error) => /AEAD_AES_256_GCM needs a 32-byte/.test(e.message) && !/abab/i.test(e.message));
  assert.throws(() => SrtpContext.fromMaster('AES_CM_128_HMAC_SHA1_80', Buffer.alloc(16), Buffer.alloc(12)), /14-byte salt/);
});

test.run();
