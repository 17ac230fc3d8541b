/** Reads Server-Sent Events from a fetch body (the console's live calls feed) into a list, until the body ends. */
export interface SseEvent { event: string; data: unknown }

export interface SseReader {
  events: SseEvent[];
  ended(): boolean;
}

export function sseReader(body: ReadableStream<Uint8Array>): SseReader {
  const events: SseEvent[] = [];
  let ended = false;
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    }
  })().catch(() => undefined).finally(() => { ended = true; });
  return { events, ended: () => ended };
}
