/** The allow-list as the policy forms edit it: one absolute path per line. */
export const allowListText = (list: readonly string[]): string => list.join("\n");

export const parseAllowList = (text: string): string[] => [
  ...new Set(
    text
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean),
  ),
];
