/**
 * Debian's Kamailio running deploy/kamailio/kamailio.cfg for a test: the benchmark's starter
 * (tools/bench/kamailio-proxy.ts), so the tests and `smartalex bench --through-kamailio` run the same proxy.
 */
export { freeSipPort, KAMAILIO_CFG, startKamailio, type Kamailio } from '../../../tools/bench/kamailio-proxy.ts';
