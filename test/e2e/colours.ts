import type { Page } from "playwright-core";

/**
 * The page background, and for each selector the contrast ratio of its text against the first opaque
 * background behind it (WCAG 2 relative luminance).
 */
export async function colours(page: Page, selectors: string[]) {
  return page.evaluate((selectors) => {
    const parse = (value: string) => (value.match(/[\d.]+/g) ?? []).map(Number);
    const luminance = ([r, g, b]: number[]) => {
      const channel = (c: number) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * channel(r!) + 0.7152 * channel(g!) + 0.0722 * channel(b!);
    };
    const backgroundOf = (element: Element | null): number[] => {
      for (let node = element; node; node = node.parentElement) {
        const rgba = parse(getComputedStyle(node).backgroundColor);
        if (rgba.length === 3 || (rgba[3] ?? 0) > 0.9) return rgba;
      }
      return parse(getComputedStyle(document.documentElement).backgroundColor);
    };
    const contrast: Record<string, number> = {};
    for (const selector of selectors) {
      const element = document.querySelector(selector)!;
      const a = luminance(parse(getComputedStyle(element).color));
      const b = luminance(backgroundOf(element));
      contrast[selector] = Math.round(((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)) * 10) / 10;
    }
    return { background: getComputedStyle(document.documentElement).backgroundColor, contrast };
  }, selectors);
}
