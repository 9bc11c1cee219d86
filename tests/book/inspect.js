// Runs in each page of the browser test (test_browser.py): one round trip returns
// everything its checks need. Waits for MathJax and for every image first.
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const imgs = [...document.querySelectorAll('img')];
  for (const img of imgs) { img.loading = 'eager'; }
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  const strip = document.body.cloneNode(true);
  strip.querySelectorAll('pre, code, script, style, mjx-container, textarea, .highlight')
    .forEach(el => el.remove());
  const text = strip.textContent;
  const article = document.querySelector('article.bd-article') || document.body;
  const right = article.getBoundingClientRect().right + 1;
  const prose = [...article.querySelectorAll('p, li, dd, dt, h1, h2, h3, h4, blockquote')]
    .filter(el => !el.closest('pre, .highlight, .cell_output, table, .MathJax, mjx-container'));
  const wide = prose.filter(el => el.scrollWidth > el.clientWidth + 1
                              || el.getBoundingClientRect().right > right)
    .map(el => el.tagName + ': ' + el.textContent.trim().slice(0, 60));
  // Code blocks and cell outputs: wider than their own box (they would scroll
  // sideways) or reaching past the article's right edge.
  const codeWide = [...article.querySelectorAll('pre, div.cell_output > *')]
    .filter(el => el.scrollWidth > el.clientWidth + 2
                  || el.getBoundingClientRect().right > right + 1)
    .map(el => (el.closest('.cell_output') ? 'output: ' : 'code: ')
               + el.textContent.trim().slice(0, 60));
  const h1 = document.querySelector('article h1, main h1, h1');
  const href = sel => { const a = document.querySelector(sel); return a ? a.href : null; };
  return {
    title: document.title,
    h1: h1 ? h1.textContent.replace(/[#¶]/g, '').trim() : '',
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    images: imgs.map(img => ({
      src: img.getAttribute('src'), alt: (img.getAttribute('alt') || '').trim(),
      width: img.naturalWidth })),
    rawTex: ['\\(', '\\[', '$$'].filter(s => text.includes(s)),
    mathErrors: document.querySelectorAll('mjx-merror').length,
    problematic: [...document.querySelectorAll('.problematic')]
      .map(el => el.textContent.trim()),
    mathTypeset: document.querySelectorAll('mjx-container').length,
    pageWide: document.documentElement.scrollWidth > document.documentElement.clientWidth,
    wideProse: wide,
    codeWide: codeWide,
    prev: href('.prev-next-area a.left-prev'),
    next: href('.prev-next-area a.right-next'),
  };
})
