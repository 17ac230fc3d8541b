/**
 * The console's one HTML document (every /console path answers it; the page
 * routes itself) and the Content-Security-Policy it is served with: scripts,
 * styles and connections from this origin only, no inline script or style,
 * no eval, nothing framed, audio from this origin (signed recording links).
 */
export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self' data:", "media-src 'self'",
  "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'",
].join('; ');

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SmartAlex console</title>
<link rel="stylesheet" href="/console/assets/app.css">
<script type="module" src="/console/assets/app.js"></script>
</head>
<body>
<div id="app"><noscript>The SmartAlex console needs JavaScript.</noscript></div>
</body>
</html>
`;
