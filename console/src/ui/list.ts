/** The items of a comma-separated list a person typed: trimmed, empty ones left out. */
export function commaList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}
