/** "One runner per name" for storages that live inside this one process (PGlite, memory). */
export function inProcessExclusive() {
  const running = new Set<string>();
  return async <T>(name: string, work: () => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }> => {
    if (running.has(name)) return { ran: false };
    running.add(name);
    try {
      return { ran: true, result: await work() };
    } finally {
      running.delete(name);
    }
  };
}
