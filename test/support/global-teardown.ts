export default async function globalTeardown(): Promise<void> {
  globalThis.hindsightPostgres?.stop();
}
