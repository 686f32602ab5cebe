const parts = () => {
  const box = element.querySelector('.vst-compare');
  if (!box) return null;
  return {box, under: box.querySelector('video.vst-under'), over: box.querySelector('video.vst-over'),
          divider: box.querySelector('.vst-divider'), range: box.querySelector('input.vst-range')};
};
const place = (p, value) => {
  const v = Math.min(100, Math.max(0, Number(value)));
  p.over.style.clipPath = 'inset(0 0 0 ' + v + '%)';
  p.divider.style.left = v + '%';
  p.box.dataset.position = String(v);
};
const follow = (p) => {
  if (Math.abs(p.under.currentTime - p.over.currentTime) > 0.05) p.under.currentTime = p.over.currentTime;
};
const quiet = (promise) => { if (promise && promise.catch) promise.catch(() => {}); };
element.addEventListener('input', (e) => {
  const p = parts();
  if (p && e.target === p.range) place(p, p.range.value);
});
element.addEventListener('click', (e) => {
  const p = parts();
  if (!p) return;
  if (e.target.closest('.vst-toggle')) {
    if (p.over.paused) { quiet(p.over.play()); } else { p.over.pause(); }
  } else if (e.target.closest('.vst-restart')) {
    p.over.currentTime = 0; p.under.currentTime = 0; quiet(p.over.play());
  }
});
const onMedia = (e) => {
  const p = parts();
  if (!p || e.target !== p.over) return;
  if (e.type === 'play' || e.type === 'playing') { follow(p); if (p.under.paused) quiet(p.under.play()); }
  else if (e.type === 'pause') { p.under.pause(); follow(p); }
  else { follow(p); }
};
for (const type of ['play', 'playing', 'pause', 'seeked', 'timeupdate']) element.addEventListener(type, onMedia, true);
element.addEventListener('play', (e) => {
  const p = parts();
  if (p && e.target === p.under && p.over.paused) p.under.pause();
}, true);
watch('value', () => { const p = parts(); if (p) { p.range.value = '50'; place(p, 50); } });
