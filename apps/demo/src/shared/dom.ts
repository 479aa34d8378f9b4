/** Small DOM helpers shared by the pages. */

/** The element with this id, typed; a clear error when the page lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no element #${id}`);
  return element as T;
}

/** A number with thousands separators. */
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The URL's query parameter, or the fallback. */
export function parameter(name: string, fallback: string): string {
  return new URLSearchParams(location.search).get(name) ?? fallback;
}

/** Fetches one of the site's own files as bytes, with an error naming it. */
export async function fetchBytes(path: string): Promise<ArrayBuffer> {
  const url = new URL(path, document.baseURI);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.arrayBuffer();
}
