/** Public face of media/sdp: offer/answer for one audio stream. */
export {
  answerOffer, canReceive, canSend, chooseCodec, createOffer, DEFAULT_CODECS, DEFAULT_OFFER_CODECS, DEFAULT_PREFERRED, readAnswer, readRemoteAudio, sdpFailureWarning, STATIC_CODECS,
} from './offer-answer.ts';
export type {
  AnswerResult, Codec, CodecName, Direction, LocalMedia, NegotiatedAudio, OfferAnswerResult, OfferedFormat, RemoteAudio,
  NegotiatedSrtp, RemoteAudioResult, SdpFailure,
} from './offer-answer.ts';
export { chooseSdes, newSdesKey } from './sdes.ts';
export type { CryptoLine, SdesChoice, SdesSuite } from './sdes.ts';
