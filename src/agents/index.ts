/** Agents: which providers an agent's calls use, and the conversation runner the call manager invokes. */
export {
  chooseProviders,
  describeProviders,
  parseProviderSettings,
  providerKeys,
  ProviderSettingsError,
  type ProviderChoice,
  type ProviderConfig,
  type ProviderEnvironment,
  type TenantProviderKeys,
} from './provider-choice.ts';
export { createProviders, type CallProviders } from './providers.ts';
export { createConversationRunner, type ConversationRunner, type ConversationRunnerDeps } from './runner.ts';
export { cachedTenantKeys, loadTenantProviderKeys, type TenantKeyUnsealer } from './tenant-keys.ts';
