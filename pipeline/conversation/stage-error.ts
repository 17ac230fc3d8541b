/** A provider stage that failed during a call: which one, which provider, and the error (never logged with content). */
export type PipelineStage = 'stt' | 'llm' | 'tts';

export class StageError extends Error {
  constructor(readonly stage: PipelineStage, readonly provider: string, readonly error: unknown) {
    super(`${stage} failed`);
  }
}
