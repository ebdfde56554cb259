/**
 * The shell of the platform's self-contained HTML documents (model report, model card): a strict CSP that
 * forbids every fetch (inline style and data: images only), a title and heading, a subtitle, the sections, and
 * a "Not shown" list of what could not be read. No dependency: Lambda-safe.
 */
import { escapeHtml } from './escape-html';

/** What a page holds; `kind`, `subject`, `subtitle` and `missing` are text (escaped here), `sections` HTML. */
export interface HtmlPage {
  /** `Model card`, `Model report`. */
  readonly kind: string;
  /** What it is about: a model version. */
  readonly subject: string;
  readonly subtitle: string;
  readonly style: string;
  readonly sections: readonly string[];
  readonly missing: readonly string[];
}

/** The whole document. */
export function htmlPage(page: HtmlPage): string {
  const missing = page.missing.length
    ? [`<h2>Not shown</h2><ul id="missing">${page.missing.map((m) => `<li>${escapeHtml(m)}</li>`).join('')}</ul>`]
    : [];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`${page.kind} ${page.subject}`)}</title>
<style>${page.style}</style>
</head>
<body>
<h1>${escapeHtml(`${page.kind}: ${page.subject}`)}</h1>
<p class="sub">${escapeHtml(page.subtitle)}</p>
${[...page.sections, ...missing].join('\n')}
</body>
</html>
`;
}
